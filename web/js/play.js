// The Play panel: library browser and search, queue, now playing (elapsed/total, seek,
// subtune, variant) and rating. The same component serves listeners and the operator.
// The parts live in ./play/: library, queue, player, ratings, playlists; this file lays
// them out and wires them together.
import { api, el, fmtTime, icon } from "./api.js";
import { loadPrefs, onPrefs } from "./prefs.js";
import { boxOutput } from "./box.js";
import { onEvent } from "./events.js";
import { createLibrary } from "./play/library.js";
import { createQueue } from "./play/queue.js";
import { createPlayer } from "./play/player.js";
import { createRatings } from "./play/ratings.js";
import { createPlaylists } from "./play/playlists.js";

export function playPanel(shell) {
  // ---- now playing ----
  const title = el("p", { class: "title", id: "now-title", text: "Nothing playing" });
  const meta = el("p", { class: "meta", id: "now-meta", text: "Pick a tune from the library." });
  const badges = el("div", { class: "badges", id: "now-badges" });
  const playBtn = el("button", { class: "btn icon big primary", id: "play-pause", "aria-label": "Play", onclick: () => toggle() }, icon("play", 26));
  const prevBtn = el("button", { class: "btn icon", "aria-label": "Previous in queue", onclick: () => queue.step(-1) }, icon("prev"));
  const nextBtn = el("button", { class: "btn icon", "aria-label": "Next in queue", onclick: () => queue.step(1) }, icon("next"));
  const seek = el("input", { type: "range", min: "0", max: "0", step: "0.1", value: "0", id: "seek", "aria-label": "Position" });
  const time = el("span", { class: "time", id: "time", text: "0:00 / –:––", "aria-live": "off" });
  const songSel = el("select", { id: "subtune", "aria-label": "Song (subtune)" });
  const fmtSel = el("select", { id: "variant", "aria-label": "Audio format for this tune" });
  const variantsInfo = el("span", { class: "muted", id: "variants-info" });
  // What HVSC's STIL (or the demo library's) says about the tune and this song.
  const stilInfo = el("div", { class: "muted", id: "now-stil", "aria-label": "About this tune" });

  // Output: this browser, or the box's own line-out.
  function setPlayIcon(playing) {
    playBtn.replaceChildren(icon(playing ? "pause" : "play", 26));
    playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
  }
  const box = boxOutput(shell, {
    onState: (s) => {
      setPlayIcon(s.state === "playing");
      time.textContent = s.state === "idle" ? "on the box: idle" : `on the box: ${s.state}`;
    },
    onSelect: (on) => {
      seek.disabled = on;
      if (on) { player.pause(); setPlayIcon(box.status()?.state === "playing"); }
      else { setPlayIcon(!player.paused); time.textContent = "0:00 / –:––"; }
    },
  });
  const player = createPlayer({ shell, box });
  const queue = createQueue({ shell, box, player });
  const ratings = createRatings({ shell, current: () => player.tune ? { tune: player.tune, song: player.song } : null,
    skip: () => queue.step(1) });
  const playlists = createPlaylists({ shell, queue });
  queue.el.append(playlists.el);
  const library = createLibrary({ shell, onPlay: (t) => queue.playNow(t), onQueue: (t) => queue.enqueue(t) });

  // C64 Ultimates on the network: play the tune on one, or listen to one live.
  const devSel = el("select", { id: "device", "aria-label": "C64 Ultimate" });
  const devPlay = el("button", { class: "btn", id: "device-play", text: "Play on the C64", onclick: async () => {
    if (!player.tune) return;
    try { await api(`/api/devices/${encodeURIComponent(devSel.value)}/play`, { method: "POST", body: { path: player.tune.path, song: player.song } }); shell.toast("Playing on the C64"); }
    catch (e) { shell.error(`The C64 did not start: ${e.message}`); }
  } });
  const devLive = el("button", { class: "btn", id: "device-live", text: "Listen live", onclick: async () => {
    if (box.active()) {
      const tr = await box.playDevice(devSel.value);
      if (!tr) return;
      player.forget();
      title.textContent = tr.title;
      meta.textContent = "Whatever the C64 is playing right now, on the box."; badges.replaceChildren();
      ratings.setEnabled(false);
      return;
    }
    title.textContent = `Live from ${devSel.selectedOptions[0]?.textContent || "the C64"}`;
    meta.textContent = "Whatever the C64 is playing right now."; badges.replaceChildren();
    ratings.setEnabled(false);
    player.playLive(`/api/devices/${encodeURIComponent(devSel.value)}/live`);
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
  loadDevices();
  setInterval(loadDevices, 60_000);

  const nowCard = el("div", { class: "card now", "aria-label": "Now playing", role: "region" },
    el("h2", { text: "Now playing" }), title, meta, badges, stilInfo, box.el,
    el("div", { class: "transport" }, prevBtn, playBtn, nextBtn,
      el("div", { class: "seek", style: "flex:1" }, seek, time)),
    el("div", { class: "row" }, el("label", { for: "subtune", text: "Song" }), songSel,
      el("label", { for: "variant", text: "Format" }), fmtSel, variantsInfo),
    ratings.el, devRow, player.audio);

  function showNow(v) {
    const t = player.tune;
    title.textContent = t.title || t.path;
    meta.textContent = [t.author, t.released].filter(Boolean).join(" · ");
    badges.replaceChildren(...[`SID ${v.chip.toUpperCase()}`, t.clock, v.platform === "hardware" ? "C64 hardware" : "software",
      v.format.toUpperCase(), t.sids > 1 ? `${t.sids} SIDs` : null].filter(Boolean).map((b) => el("span", { class: "badge", text: b })));
    songSel.replaceChildren(...Array.from({ length: t.songs }, (_, i) =>
      el("option", { value: String(i + 1), selected: i + 1 === player.song, text: `${i + 1} / ${t.songs}${t.durations_ms[i] ? ` (${fmtTime(t.durations_ms[i] / 1000)})` : ""}` })));
    fmtSel.replaceChildren(...["mp3", "flac", "wav"].map((f) => el("option", { value: f, selected: f === player.format, text: f.toUpperCase() })));
    seek.max = String(isFinite(player.total) ? player.total : 0);
    ratings.reset();
    document.title = `${t.title} · SIDFlow`;
  }

  async function loadVariants() {
    try {
      const d = await api(`/api/library/tune?md5=${player.tune.md5}`);
      showStil(d.stil);
      const mine = d.variants.filter((v) => v.song === player.song);
      const sv = player.session && player.session.variant;
      variantsInfo.textContent = sv && sv.platform === "hardware" && !sv.cached
        ? "recording on the C64 Ultimate as you listen"
        : mine.length ? `ready: ${mine.map((v) => `${v.format}${v.platform === "hardware" ? " (C64)" : ""}`).join(", ")}` : "rendering on first play";
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

  function toggle() {
    player.toggle(() => { if (queue.items.length) queue.step(queue.index < 0 ? 1 : 0); });
  }

  player.on("track", ({ variant }) => { showNow(variant); loadVariants(); });
  player.on("state", ({ playing }) => setPlayIcon(playing));
  player.on("time", ({ time: now, duration }) => {
    time.textContent = `${fmtTime(now)} / ${fmtTime(duration)}`;
    if (document.activeElement !== seek) seek.value = String(now);
    if (isFinite(duration)) seek.max = String(duration);
  });
  player.on("ended", () => {
    // "Every song of a tune": the next subtune first (not for a song the radio picked).
    const cur = queue.current();
    if (loadPrefs().subtunes === "all" && player.tune && player.song < player.tune.songs && !(cur && cur.pick_song)) {
      player.start(player.tune, player.song + 1, { format: player.format });
    } else queue.step(1);
  });
  seek.addEventListener("change", () => player.seek(Number(seek.value)));
  songSel.addEventListener("change", () => player.tune && player.start(player.tune, Number(songSel.value), { format: player.format }));
  fmtSel.addEventListener("change", () => player.tune && player.start(player.tune, player.song, { format: fmtSel.value, at: player.time }));
  onPrefs(() => { if (player.tune) variantsInfo.textContent = "preferences apply from the next tune"; });

  // Keyboard: Space play/pause, ←/→ seek 5 s, N/P next/previous, / search.
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input,select,textarea") && e.key !== "Escape") return;
    if (e.target.closest("button") && (e.key === " " || e.key === "Enter")) return;
    if (panel.hidden) return;
    if (e.key === " ") { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowRight" && player.session) player.seek(player.time + 5);
    else if (e.key === "ArrowLeft" && player.session) player.seek(Math.max(0, player.time - 5));
    else if (e.key === "n" || e.key === "N") queue.step(1);
    else if (e.key === "p" || e.key === "P") queue.step(-1);
    else if (e.key === "/") { e.preventDefault(); library.focusSearch(); }
  });

  // What is playing on this box (server-sent events, shared by this browser's tabs).
  onEvent("playing", (d) => library.setLastPlayed(`Last started on this box: ${d.title} by ${d.author}`));

  const panel = el("section", {}, el("div", { class: "grid" }, library.el, el("div", { class: "stack" }, nowCard, queue.el)));
  library.browse("");
  return panel;
}
