// The Play panel: library browser and search, queue, now playing (elapsed/total, seek,
// songs, format) and rating. The same component serves listeners and the operator.
// The parts live in ./play/: library, queue, player (and its sources), ratings,
// playlists, cover; this file lays them out and wires them together: the now-playing
// card and the phone's mini-player, keyboard shortcuts, links (#/tune/PATH?song=N) and
// the lock screen (Media Session).
import { api, el, fmtTime, icon } from "./api.js";
import { loadPrefs, onPrefs } from "./prefs.js";
import { createLibrary } from "./play/library.js";
import { createQueue, songOf } from "./play/queue.js";
import { createPlayer } from "./play/player.js";


// The cover module is loaded with the first song (it is not needed for the first screen).
let coverMod = null;
const cover$ = () => (coverMod ||= import("./play/cover.js"));
const idle = (fn) => (window.requestIdleCallback ? requestIdleCallback(fn, { timeout: 1500 }) : setTimeout(fn, 200));

export function playPanel(shell) {
  // ---- now playing ----
  const cover = el("img", { class: "cover", id: "now-cover", alt: "", width: "96", height: "96", hidden: true });
  const title = el("p", { class: "title", id: "now-title", text: "Nothing playing" });
  const meta = el("p", { class: "meta", id: "now-meta", text: "Pick a tune from the library." });
  const badges = el("div", { class: "badges", id: "now-badges" });
  // Where the sound comes from when it is not what the Preferences ask (and why).
  const sourceNote = el("p", { class: "muted", id: "now-source", hidden: true });
  const status = el("p", { class: "status", id: "now-status", role: "status", "aria-live": "polite" });
  // Why the song may sound wrong here (it needs the C64's ROMs and the box has none).
  const warn = el("p", { class: "status", id: "now-warning", hidden: true });
  const playBtn = el("button", { class: "btn icon big primary", id: "play-pause", "aria-label": "Play", onclick: () => toggle() }, icon("play", 26));
  const prevBtn = el("button", { class: "btn icon", id: "prev", "aria-label": "Previous in queue", onclick: () => queue.step(-1) }, icon("prev"));
  const nextBtn = el("button", { class: "btn icon", id: "next", "aria-label": "Next in queue", onclick: () => queue.step(1) }, icon("next"));
  const seek = el("input", { type: "range", min: "0", max: "0", step: "0.1", value: "0", id: "seek", "aria-label": "Position",
    "aria-valuetext": "0:00" });
  const time = el("span", { class: "time", id: "time", text: "0:00 / –:––", "aria-hidden": "true" });
  const songs = el("div", { class: "songs", id: "songs", role: "group", "aria-label": "Songs of this tune" });
  const fmtSel = el("select", { id: "variant" });
  const variantsInfo = el("span", { class: "muted", id: "variants-info" });
  const dlSid = el("a", { class: "btn", id: "download-sid", download: "", hidden: true, text: ".sid" });
  const dlAudio = el("a", { class: "btn", id: "download-audio", download: "", hidden: true });
  // What HVSC's STIL (or the demo library's) says about the tune and this song.
  const stilInfo = el("div", { class: "muted stil", id: "now-stil" });

  // Output: this browser, or the box's own line-out.
  function setPlayIcon(playing) {
    for (const b of [playBtn, miniPlay]) {
      b.replaceChildren(icon(playing ? "pause" : "play", b === playBtn ? 26 : 22));
      b.setAttribute("aria-label", playing ? "Pause" : "Play");
    }
  }
  // The box's line-out ("Play on: the box"): ../box.js, loaded after the first screen;
  // until then this stand-in says "not chosen".
  const boxSlot = el("div", { class: "box-slot" });
  let boxImpl = null;
  const box = {
    active: () => !!boxImpl && boxImpl.active(),
    status: () => boxImpl && boxImpl.status(),
    play: (...a) => boxImpl.play(...a),
    playDevice: (...a) => boxImpl.playDevice(...a),
    toggle: () => boxImpl && boxImpl.toggle(),
    next: () => boxImpl && boxImpl.next(),
    // Resolves once the box's line-out status is known (the player asks before using it).
    ready: () => box.start(),
    start() {
      boxReady ||= (async () => {
        const { boxOutput } = await import("./box.js");
        boxImpl = boxOutput(shell, {
          onState: (s) => {
            player.lineoutState(s);
            setPlayIcon(s.state === "playing");
            time.textContent = s.state === "idle" ? "on the box: idle" : `on the box: ${s.state}`;
          },
          onSelect: (on) => {
            seek.disabled = on || !player.tune;
            if (on) { player.pause(); setPlayIcon(box.status()?.state === "playing"); }
            else { setPlayIcon(!player.paused); time.textContent = "0:00 / –:––"; }
          },
        });
        boxSlot.append(boxImpl.el);
        boxImpl.start();
        await boxImpl.ready();
      })();
      return boxReady;
    },
  };
  let boxReady = null;
  const player = createPlayer({ shell, box });
  const queue = createQueue({ shell, box, player });
  // Rating: its module comes after the first screen (or with the first song).
  const rateSlot = el("div", { class: "rate-slot" });
  let ratingsP = null;
  const ratings$ = () => (ratingsP ||= import("./play/ratings.js").then(({ createRatings }) => {
    const r = createRatings({ shell, current: () => player.tune ? { tune: player.tune, song: player.song } : null,
      skip: () => queue.step(1) });
    rateSlot.append(r.el);
    return r;
  }));
  const library = createLibrary({ shell, onPlay: (t) => queue.playNow(t), onQueue: (t) => queue.enqueue(t),
    onPlayNext: (t) => queue.playNext(t), playing: () => player.tune });

  // C64 Ultimates on the network: play the tune on one, or listen to one live.
  const devSel = el("select", { id: "device", "aria-label": "C64 Ultimate" });
  const devPlay = el("button", { class: "btn", id: "device-play", text: "Play on the C64", onclick: async () => {
    if (!player.tune) return;
    try { await api(`/api/devices/${encodeURIComponent(devSel.value)}/play`, { method: "POST", body: { path: player.tune.path, song: player.song } }); shell.toast("Playing on the C64"); }
    catch (e) { shell.error(`The C64 did not start: ${e.message}`); }
  } });
  const devLive = el("button", { class: "btn", id: "device-live", text: "Listen live", onclick: async () => {
    const name = devSel.selectedOptions[0]?.textContent || "the C64";
    if (box.active()) {
      const tr = await box.playDevice(devSel.value);
      if (!tr) return;
      player.forget();
      showLive(tr.title, "Whatever the C64 is playing right now, on the box.");
      return;
    }
    showLive(`Live from ${name}`, "Whatever the C64 is playing right now.");
    live = true;
    abOff();
    player.live(`/api/devices/${encodeURIComponent(devSel.value)}/live`);
  } });
  const devRow = el("div", { class: "row", id: "devices-row", hidden: true }, el("label", { for: "device", text: "C64" }), devSel, devPlay, devLive);
  async function loadDevices() {
    try {
      const d = await api("/api/devices");
      const on = d.devices.filter((x) => x.online);
      devSel.replaceChildren(...on.map((x) => el("option", { value: x.id, "data-stream": String(x.can_stream), text: x.name || x.product || x.id })));
      devRow.hidden = !on.length;
    } catch { devRow.hidden = true; }
  }
  setInterval(loadDevices, 60_000);

  // "See the music": loaded and drawn only while open (./play/visual.js).
  const visualBtn = el("button", { class: "btn", id: "visual-toggle", "aria-expanded": "false", "aria-controls": "visual",
    onclick: () => toggleVisual() }, icon("wave", 16), " See the music");
  const voiceLabels = Array.from({ length: 9 }, () => el("li"));
  const canvas = el("canvas", { id: "visual-canvas", role: "img", "aria-label": "What each SID voice plays" });
  const visualBox = el("div", { class: "visual", id: "visual", hidden: true }, canvas,
    el("ul", { class: "voices", id: "voices", "aria-live": "off" }, ...voiceLabels));
  let visual = null;
  async function showVisual() {
    if (!visual) return;
    const tr = player.track;
    // In this browser: the engine's own voices. From the box: its voice track of a software render.
    const what = tr && tr.source === "browser" ? { voices: () => player.voices(), time: () => player.time }
      : tr && tr.session && tr.variant.platform === "software" ? `/api/playback/${tr.session.session}/voices` : null;
    const mode = await visual.show(what);
    visualBox.dataset.mode = mode;
  }
  async function toggleVisual() {
    const open = visualBox.hidden;
    visualBox.hidden = !open;
    visualBtn.setAttribute("aria-expanded", String(open));
    if (!open) { visual?.stop(); return; }
    if (!visual) {
      const { createVisual } = await import("./play/visual.js");
      visual = createVisual({ canvas, audio: player.audio, labels: voiceLabels });
    }
    await showVisual();
    visual.start();
  }

  const songRow = el("div", { class: "row", id: "song-row" }, el("span", { class: "label", text: "Song" }), songs);
  // Hardware vs software A/B: ./play/ab.js, loaded when a song has both renderings.
  const abBtn = el("button", { class: "btn", type: "button", id: "ab-toggle", hidden: true });
  const abOff = () => abBtn.dispatchEvent(new Event("ab-off"));
  const fmtRow = el("div", { class: "row", id: "format-row" }, el("label", { for: "variant", text: "Format" }), fmtSel,
    variantsInfo, dlSid, dlAudio, abBtn);
  const nowCard = el("section", { class: "card now", "aria-labelledby": "now-h" },
    el("h2", { id: "now-h", text: "Now playing" }),
    el("div", { class: "head" }, cover, el("div", { class: "what" }, title, meta, badges)), sourceNote, warn, status, stilInfo, boxSlot,
    el("div", { class: "transport" }, prevBtn, playBtn, nextBtn,
      el("div", { class: "seek" }, seek, time)),
    songRow, fmtRow, rateSlot, el("div", { class: "row" }, visualBtn), visualBox, devRow, player.audio);

  // ---- the phone's mini-player: stays at the bottom while the now-playing card is away ----
  const miniTitle = el("span", { class: "t", id: "mini-title" });
  const miniBar = el("div", { class: "bar" }, el("div", { id: "mini-progress" }));
  const miniPlay = el("button", { class: "btn icon primary", id: "mini-play", "aria-label": "Play", onclick: () => toggle() }, icon("play", 22));
  const miniNext = el("button", { class: "btn icon", id: "mini-next", "aria-label": "Next in queue", onclick: () => queue.step(1) }, icon("next", 22));
  const mini = el("div", { class: "mini", id: "mini", role: "region", "aria-label": "Player", hidden: true },
    miniBar, el("button", { class: "name", id: "mini-open", onclick: () => { nowCard.scrollIntoView({ block: "start" }); playBtn.focus(); } },
      miniTitle), miniPlay, miniNext);
  let nowVisible = true;
  const showMini = () => {
    mini.hidden = !(player.tune || player.source !== "stream") || nowVisible || panel.hidden || !title.dataset.loaded;
    document.body.classList.toggle("has-mini", !mini.hidden);
  };
  if (window.IntersectionObserver) {
    new IntersectionObserver(([e]) => { nowVisible = e.isIntersecting; showMini(); }, { threshold: 0.05 }).observe(playBtn);
  }

  function showSongs(t, current) {
    songs.replaceChildren(...Array.from({ length: t.songs }, (_, i) => {
      const n = i + 1, d = t.durations_ms && t.durations_ms[i];
      return el("button", { class: `btn song${n === t.start_song ? " start" : ""}`, "aria-pressed": String(n === current),
        "aria-label": `Song ${n}${n === t.start_song ? " (start song)" : ""}`,
        title: `Song ${n}${d ? ` (${fmtTime(d / 1000)})` : ""}${n === t.start_song ? ", the start song" : ""}`,
        text: String(n), onclick: () => player.tune && player.load(player.tune, n, { format: player.format }) });
    }));
    songRow.hidden = false;
  }

  function showNow(tr) {
    const t = tr.tune, v = tr.variant;
    title.textContent = t.title || t.path;
    title.dataset.loaded = "1";
    meta.textContent = [t.author, t.released].filter(Boolean).join(" · ");
    const where = { browser: `in this browser${tr.offline ? " (offline)" : ""}`, stream: "from the box", lineout: "on the box",
      ultimate: `on ${tr.device ? tr.device.name || tr.device.id : "the C64"}` }[tr.source];
    badges.replaceChildren(...[tr.source === "ultimate" ? null : `SID ${v.chip.toUpperCase()}`, t.clock,
      v.platform === "hardware" ? "C64 hardware" : v.platform === "sidplayfp" ? "sidplayfp" : "software",
      ["sid", "c64"].includes(v.format) ? null : v.format.toUpperCase(), t.sids > 1 ? `${t.sids} SIDs` : null,
      tr.session && tr.session.roms_warning ? "needs C64 ROMs" : null, where]
      .filter(Boolean).map((b) => el("span", { class: "badge", text: b })));
    badges.dataset.source = tr.source;
    sourceNote.textContent = tr.note || "";
    sourceNote.hidden = !tr.note;
    warn.textContent = (tr.session && tr.session.roms_warning) ? `May sound wrong: ${tr.session.roms_warning}.` : "";
    warn.hidden = !warn.textContent;
    cover$().then(({ coverURL }) => { if (player.tune === t) { cover.src = coverURL(t, 192); cover.hidden = false; } });
    showSongs(t, tr.song);
    fmtRow.hidden = false;
    fmtSel.replaceChildren(...["mp3", "flac", "wav"].map((f) => el("option", { value: f, selected: f === tr.format, text: f.toUpperCase() })));
    // Audio formats are the box's renders: nothing to choose when the box renders nothing.
    fmtSel.hidden = fmtSel.labels[0].hidden = ["browser", "ultimate"].includes(tr.source);
    fmtSel.setAttribute("aria-label", "Audio format");
    seek.disabled = box.active();
    seek.max = String(isFinite(tr.duration) ? tr.duration : 0);
    seek.value = "0";
    miniTitle.textContent = `${t.title} · ${t.author}`;
    dlSid.hidden = !tr.session;
    if (tr.session) { dlSid.href = tr.session.urls.sid; dlSid.setAttribute("aria-label", `Download ${t.title}.sid`); }
    showDownload(tr);
    ratings$().then((r) => { if (player.track === tr) r.reset(); });
    document.title = `${t.title} · SIDFlow`;
    showMini();
  }

  // The audio file, offered once it is whole (cached, or its render is done).
  function showDownload(tr = player.track) {
    const ok = tr && tr.session && tr.source === "stream" && (tr.variant.cached || player.rendered === Infinity);
    dlAudio.hidden = !ok;
    if (ok) {
      dlAudio.href = tr.session.urls.audio;
      dlAudio.textContent = tr.format.toUpperCase();
      dlAudio.setAttribute("aria-label", `Download ${tr.tune.title} as ${tr.format.toUpperCase()}`);
    }
  }

  function showLive(what, about) {
    title.textContent = what;
    title.dataset.loaded = "1";
    meta.textContent = about;
    badges.replaceChildren(el("span", { class: "badge", text: "live" }));
    warn.hidden = true;
    cover.hidden = true;
    stilInfo.replaceChildren();
    status.textContent = "";
    // Nothing of the tune before: no songs, formats, position or queue marker.
    songs.replaceChildren(); songRow.hidden = true; fmtRow.hidden = true;
    seek.value = "0"; seek.max = "0"; seek.disabled = true; seek.setAttribute("aria-valuetext", "live");
    time.textContent = "live";
    ratings$().then((r) => r.setEnabled(false));
    queue.unmark();
    if (!visualBox.hidden) visual?.show(null);
    miniTitle.textContent = what;
    showMini();
  }

  async function loadVariants() {
    const tr = player.track;
    if (!tr) return;
    try {
      const d = await api(`/api/library/tune?md5=${tr.tune.md5}`);
      if (player.track !== tr) return;
      showStil(d.stil);
      const mine = d.variants.filter((v) => v.song === tr.song);
      const sv = tr.variant;
      if (abBtn.hidden && !box.active() && tr.source === "stream" && tr.session) import("./play/ab.js").then((m) => m.offer({ btn: abBtn, player, tr, mine, shell }));
      variantsInfo.textContent = tr.source === "browser" ? "made by this browser's engine: the box renders nothing"
        : tr.source === "ultimate" ? "" : tr.session && sv.platform === "hardware" && !sv.cached
        ? "recording on the C64 Ultimate as you listen"
        : mine.length ? `ready: ${mine.map((v) => `${v.format}${v.platform === "hardware" ? " (C64)" : v.platform === "sidplayfp" ? " (sidplayfp)" : ""}`).join(", ")}` : "rendering on first play";
    } catch { variantsInfo.textContent = ""; }
  }

  function showStil(stil) {
    const lines = [];
    if (stil) {
      const song = (stil.songs && stil.songs[String(player.song)]) || [];
      for (const f of [...song, ...stil.global]) {
        lines.push(el("p", {}, el("strong", { text: `${f.key[0]}${f.key.slice(1).toLowerCase()}: ` }), f.value));
      }
    }
    stilInfo.replaceChildren(...lines);
  }

  // Play on a fresh page: where the queue was, else the first tune on screen, else the radio.
  function toggle() {
    if (player.tune || player.source !== "stream" || live) { player.toggle(); return; }
    queue.resume(() => {
      const first = library.firstTune();
      return first ? queue.playNow(first) : queue.step(1);
    });
  }
  let live = false;

  // ---- links: #/tune/PATH?song=N names what plays; back and forward move between songs ----
  const hashOf = (t, song) => `#/tune/${t.path.split("/").map(encodeURIComponent).join("/")}${song !== t.start_song ? `?song=${song}` : ""}`;
  function parseHash(h = location.hash) {
    const m = /^#\/tune\/([^?]+)(?:\?song=(\d+))?$/.exec(h);
    if (!m) return null;
    try { return { path: m[1].split("/").map(decodeURIComponent).join("/"), song: m[2] ? Number(m[2]) : null }; }
    catch { return null; }
  }
  let fromHistory = false;
  async function openLink(link, autoplay) {
    try {
      const d = await api(`/api/library/tune?path=${encodeURIComponent(link.path)}`);
      const song = link.song && link.song >= 1 && link.song <= d.tune.songs ? link.song : d.tune.start_song;
      fromHistory = true;
      // A link opened in a new page is ready to play (browsers refuse sound before a tap).
      await queue.playNow(d.tune, song, { autoplay });
    } catch (e) { shell.error(`That link names no tune of this box (${e.message}).`); }
    finally { fromHistory = false; }
  }
  addEventListener("popstate", () => {
    const link = parseHash();
    if (link && !(player.tune && player.tune.path === link.path && player.song === (link.song || player.tune.start_song))) openLink(link, true);
  });

  // The lock screen (Media Session) and the shortcuts dialog: ./play/extras.js, after the
  // first screen.
  let posAt = 0;
  let extras = null, extrasP = null;
  const extras$ = () => (extrasP ||= import("./play/extras.js").then(({ createExtras }) => (extras = createExtras({ player, queue }))));
  const help = () => extras$().then((x) => x.help());

  player.on("track", (tr) => {
    live = false;
    abOff();
    library.highlight();
    if (!visualBox.hidden) showVisual();
    const sn = tr.session || {};
    status.textContent = sn.wait ? `Waiting for a C64 Ultimate: number ${sn.wait.place} in line` : "";
    showNow(tr);
    // Why this rendering: recorded on a C64 Ultimate now, or software as all are busy.
    if (sn.note) shell.toast(sn.note);
    loadVariants();
    if (!fromHistory && hashOf(tr.tune, tr.song) !== location.hash) history.pushState(null, "", hashOf(tr.tune, tr.song));
    else if (fromHistory) history.replaceState(null, "", hashOf(tr.tune, tr.song));
    extras$().then((x) => x.track(tr));
  });
  player.on("state", ({ playing }) => {
    setPlayIcon(playing);
    extras$().then((x) => x.state(playing));
  });
  player.on("time", ({ time: now, duration }) => {
    if (live) { time.textContent = "live"; return; }
    time.textContent = `${fmtTime(now)} / ${fmtTime(duration)}`;
    if (document.activeElement !== seek) seek.value = String(now);
    if (isFinite(duration)) seek.max = String(duration);
    seek.setAttribute("aria-valuetext", `${fmtTime(now)} of ${fmtTime(duration)}`);
    miniBar.firstChild.style.width = isFinite(duration) && duration > 0 ? `${Math.min(100, (100 * now) / duration)}%` : "0";
    if (extras && Date.now() - posAt > 1000) { posAt = Date.now(); extras.position(now, duration); }
  });
  player.on("waiting", (w) => {
    status.textContent = !w ? "" : w.place ? `Waiting for a C64 Ultimate: number ${w.place} in line`
      : w.percent !== null && w.percent !== undefined ? `rendering… ${w.percent} %` : "loading…";
  });
  let failures = 0;
  player.on("ended", () => {
    failures = 0;
    // "Every song of a tune": the next song first (not for a song the radio or a list picked).
    const cur = queue.current(), t = player.tune;
    if (loadPrefs().subtunes === "all" && t && player.song < t.songs && !(cur && cur.pick_song) && queue.repeat !== "one") {
      player.load(t, player.song + 1, { format: player.format });
    } else queue.step(1, { auto: true });
  });
  player.on("error", ({ message, fatal }) => {
    shell.error(message);
    status.textContent = "";
    // The queue never stalls on a song that cannot play, but stops after a round of failures.
    if (fatal && ++failures <= Math.max(3, queue.items.length)) queue.step(1);
  });
  seek.addEventListener("input", () => { time.textContent = `${fmtTime(Number(seek.value))} / ${fmtTime(Number(seek.max))}`; });
  seek.addEventListener("change", () => player.seek(Number(seek.value)));
  fmtSel.addEventListener("change", () => player.tune && player.load(player.tune, player.song, { format: fmtSel.value, at: player.time }));
  onPrefs(() => { if (player.tune) variantsInfo.textContent = "preferences apply from the next tune"; });

  // ---- keyboard ----
  const rowButton = (t) => t.closest("#library button.name, #queue button.name, #mini-open");
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || panel.hidden || document.querySelector("dialog[open]")) return;
    if (e.target.closest("input,select,textarea") && e.key !== "Escape") return;
    // Space on a tune of the library or the queue: play/pause, never "play it again".
    if (e.key === " " && rowButton(e.target)) { e.preventDefault(); toggle(); return; }
    if (e.target.closest("button,a") && (e.key === " " || e.key === "Enter")) return;
    // Arrow keys belong to what has them (tabs, the queue's handles).
    if (e.key.startsWith("Arrow") && e.target.closest("[role=tablist],.handle")) return;
    if (e.key === " ") { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowRight" && player.tune) player.seek(player.time + 5);
    else if (e.key === "ArrowLeft" && player.tune) player.seek(Math.max(0, player.time - 5));
    else if (e.key === "n" || e.key === "N") queue.step(1);
    else if (e.key === "p" || e.key === "P") queue.step(-1);
    else if (e.key === "l" || e.key === "L") document.getElementById("like")?.click();
    else if (e.key === "/") { e.preventDefault(); library.focusSearch(); }
    else if (e.key === "?") { e.preventDefault(); help(); }
  });
  // The activation of a focused button by Space happens on keyup: not for tune rows.
  document.addEventListener("keyup", (e) => { if (e.key === " " && rowButton(e.target)) e.preventDefault(); });


  const panel = el("section", {}, el("div", { class: "grid" }, library.el, el("div", { class: "stack" }, nowCard, queue.el)), mini);
  panel.addEventListener("shown", showMini);
  panel.player = player; // for the browser tests (engine counters, source)
  const helpBtn = el("button", { class: "btn icon help", id: "help", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)",
    onclick: help, text: "?" });
  document.querySelector("header.top")?.append(helpBtn);
  songRow.hidden = true; fmtRow.hidden = true; seek.disabled = true;

  // A fresh page: the tune a link names, else what the queue held last time (ready to play).
  const link = parseHash();
  if (link) openLink(link, false);
  else if (queue.restored) {
    const r = queue.restored;
    title.textContent = r.tune.title || r.tune.path;
    meta.textContent = [r.tune.author, r.tune.released, "press Play to go on"].filter(Boolean).join(" · ");
    // The cover is decoration: drawn once the first screen is done.
    const later = window.requestIdleCallback || ((f) => setTimeout(f, 1500));
    later(() => cover$().then(({ coverURL }) => { if (!player.tune) { cover.src = coverURL(r.tune, 192); cover.hidden = false; } }), { timeout: 3000 });
  }
  // After the first screen: the event stream (shared by this browser's tabs), saved
  // playlists, the C64 Ultimates, the box's output, and the modules a first play needs.
  library.browse("").then(() => idle(async () => {
    box.start();
    loadDevices();
    player.prepare();
    ratings$();
    extras$();
    const { startEvents, onEvent } = await import("./events.js");
    startEvents();
    onEvent("playing", (d) => library.setLastPlayed(`Last started on this box: ${d.title} by ${d.author}`));
    onEvent("render", () => showDownload());
    const { createPlaylists } = await import("./play/playlists.js");
    queue.el.append(createPlaylists({ shell, queue }).el);
  }));
  return panel;
}
