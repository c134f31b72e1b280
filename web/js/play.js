// The Play panel: library browser and search, queue, now playing (elapsed/total, seek,
// subtune, variant) and rating. The same component serves listeners and the operator.
import { api, el, fmtTime, ApiError, icon } from "./api.js";
import { loadPrefs, onPrefs } from "./prefs.js";
import { boxOutput } from "./box.js";

const RENEW_MS = 60_000;

export function playPanel(shell) {
  const audio = el("audio", { preload: "auto", id: "audio" });
  const st = { queue: [], index: -1, session: null, tune: null, song: 1, format: null, total: NaN,
    folder: "", renewing: null, seekTo: null, rated: null, radio: false, recent: [] };

  // ---- library ----
  const search = el("input", { type: "search", id: "search", placeholder: "Search title, author, year or path  ( / )",
    "aria-label": "Search the library", autocomplete: "off" });
  const crumbs = el("nav", { class: "crumbs", "aria-label": "Folder" });
  const list = el("ul", { class: "list", id: "library", "aria-label": "Library" });
  const lastPlayed = el("p", { class: "muted", id: "last-played", "aria-live": "polite" });
  const libCard = el("div", { class: "card" }, el("h2", { text: "Library" }), search, crumbs, list, lastPlayed);

  function tuneRow(t) {
    const dur = t.durations_ms && t.durations_ms[t.start_song - 1];
    return el("li", { class: "tune" },
      el("button", { class: "name", onclick: () => playNow(t), "aria-label": `Play ${t.title} by ${t.author}` },
        el("span", { class: "t", text: t.title || t.path }),
        el("span", { class: "s", text: [t.author, t.released, t.songs > 1 ? `${t.songs} songs` : null].filter(Boolean).join(" · ") })),
      el("span", { class: "dur", text: dur ? fmtTime(dur / 1000) : "" }),
      el("button", { class: "btn icon", "aria-label": `Add ${t.title} to the queue`, title: "Add to queue",
        onclick: () => enqueue(t) }, icon("plus")));
  }

  function showTunes(tunes, folders = []) {
    list.replaceChildren();
    for (const f of folders) {
      list.append(el("li", { class: "folder" },
        el("button", { class: "name", onclick: () => browse(f.path), "aria-label": `Open folder ${f.name}` },
          el("span", { class: "t" }, icon("folder", 16), ` ${f.name}`), el("span", { class: "s", text: `${f.tunes} tunes` }))));
    }
    for (const t of tunes) list.append(tuneRow(t));
    if (!folders.length && !tunes.length) list.append(el("li", { class: "empty", text: "Nothing here." }));
  }

  async function browse(path) {
    st.folder = path;
    try {
      const d = await api(`/api/library/browse?path=${encodeURIComponent(path)}`);
      crumbs.replaceChildren(el("button", { text: "Library", onclick: () => browse("") }));
      let acc = "";
      for (const part of d.path ? d.path.split("/") : []) {
        acc = acc ? `${acc}/${part}` : part;
        const p = acc;
        crumbs.append(" / ", el("button", { text: part, onclick: () => browse(p) }));
      }
      showTunes(d.tunes, d.folders);
      if (d.scanning && !d.tunes.length && !d.folders.length) setTimeout(() => browse(path), 1000);
    } catch (e) { shell.error(e.message); }
  }

  let searchTimer = null, searchAbort = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = search.value.trim();
      if (!q) return browse(st.folder);
      searchAbort?.abort();
      searchAbort = new AbortController();
      try {
        const d = await api(`/api/library/search?q=${encodeURIComponent(q)}&limit=200`, { signal: searchAbort.signal });
        crumbs.replaceChildren(el("span", { class: "muted", text: `${d.tunes.length} result(s) for “${q}”` }));
        showTunes(d.tunes);
      } catch (e) { if (e.name !== "AbortError") shell.error(e.message); }
    }, 180);
  });

  // ---- now playing ----
  const title = el("p", { class: "title", id: "now-title", text: "Nothing playing" });
  const meta = el("p", { class: "meta", id: "now-meta", text: "Pick a tune from the library." });
  const badges = el("div", { class: "badges", id: "now-badges" });
  const playBtn = el("button", { class: "btn icon big primary", id: "play-pause", "aria-label": "Play", onclick: () => toggle() }, icon("play", 26));
  const prevBtn = el("button", { class: "btn icon", "aria-label": "Previous in queue", onclick: () => step(-1) }, icon("prev"));
  const nextBtn = el("button", { class: "btn icon", "aria-label": "Next in queue", onclick: () => step(1) }, icon("next"));
  const seek = el("input", { type: "range", min: "0", max: "0", step: "0.1", value: "0", id: "seek", "aria-label": "Position" });
  const time = el("span", { class: "time", id: "time", text: "0:00 / –:––", "aria-live": "off" });
  const songSel = el("select", { id: "subtune", "aria-label": "Song (subtune)" });
  const fmtSel = el("select", { id: "variant", "aria-label": "Audio format for this tune" });
  const variantsInfo = el("span", { class: "muted", id: "variants-info" });
  // What HVSC's STIL (or the demo library's) says about the tune and this song.
  const stilInfo = el("div", { class: "muted", id: "now-stil", "aria-label": "About this tune" });
  const likeBtn = el("button", { class: "btn", id: "like", "aria-pressed": "false", onclick: () => rate("like") }, icon("up", 16), " Like");
  const dislikeBtn = el("button", { class: "btn", id: "dislike", "aria-pressed": "false", onclick: () => rate("dislike") }, icon("down", 16), " Dislike");
  const skipBtn = el("button", { class: "btn", id: "skip", onclick: () => { rate("skip"); step(1); } }, icon("next", 16), " Skip");
  const stars = el("fieldset", { class: "stars", id: "stars" }, el("legend", { class: "sr", text: "Stars" }));
  for (let i = 1; i <= 5; i++) {
    const id = `star-${i}`;
    const input = el("input", { type: "radio", name: "stars", id, value: String(i), onchange: () => rate("stars", i) });
    stars.append(input, el("label", { for: id, title: `${i} star${i > 1 ? "s" : ""}`, text: "★" },
      el("span", { class: "sr", text: `${i} star${i > 1 ? "s" : ""}` })));
  }
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
      if (on) { audio.pause(); setPlayIcon(box.status()?.state === "playing"); }
      else { setPlayIcon(!audio.paused); time.textContent = "0:00 / –:––"; }
    },
  });

  // C64 Ultimates on the network: play the tune on one, or listen to one live.
  const devSel = el("select", { id: "device", "aria-label": "C64 Ultimate" });
  const devPlay = el("button", { class: "btn", id: "device-play", text: "Play on the C64", onclick: async () => {
    if (!st.tune) return;
    try { await api(`/api/devices/${encodeURIComponent(devSel.value)}/play`, { method: "POST", body: { path: st.tune.path, song: st.song } }); shell.toast("Playing on the C64"); }
    catch (e) { shell.error(`The C64 did not start: ${e.message}`); }
  } });
  const devLive = el("button", { class: "btn", id: "device-live", text: "Listen live", onclick: async () => {
    if (box.active()) {
      const tr = await box.playDevice(devSel.value);
      if (!tr) return;
      audio.pause();
      st.session = null; st.tune = null; st.total = NaN;
      title.textContent = tr.title;
      meta.textContent = "Whatever the C64 is playing right now, on the box."; badges.replaceChildren();
      setRatingEnabled(false);
      return;
    }
    st.session = null; st.tune = null; st.total = NaN;
    title.textContent = `Live from ${devSel.selectedOptions[0]?.textContent || "the C64"}`;
    meta.textContent = "Whatever the C64 is playing right now."; badges.replaceChildren();
    setRatingEnabled(false);
    audio.src = `/api/devices/${encodeURIComponent(devSel.value)}/live`;
    audio.play().catch(() => {});
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
    el("div", { class: "rate", role: "group", "aria-label": "Rate this song" }, likeBtn, dislikeBtn, skipBtn, stars),
    devRow, audio);
  setRatingEnabled(false);

  // ---- queue ----
  const qList = el("ul", { class: "list", id: "queue", "aria-label": "Queue" });
  // Radio: when the queue runs out, the box picks the next song (steered by the ratings).
  const radioBtn = el("button", { class: "btn", id: "radio", text: "Radio", "aria-pressed": "false",
    title: "Keep playing songs the box picks when the queue runs out", onclick: () => setRadio(!st.radio) });
  // Saved playlists: kept on the box, shared by everyone on the network.
  const plSel = el("select", { id: "playlists", "aria-label": "Saved playlists" });
  const plName = el("input", { type: "text", id: "playlist-name", placeholder: "Playlist name", "aria-label": "Name to save the queue as",
    maxlength: "100", autocomplete: "off" });
  const plRow = el("div", { class: "row" }, plSel,
    el("button", { class: "btn", id: "playlist-load", text: "Load", onclick: () => loadPlaylist(plSel.value) }),
    el("button", { class: "btn", id: "playlist-delete", text: "Delete", onclick: () => deletePlaylist(plSel.value) }),
    plName, el("button", { class: "btn", id: "playlist-save", text: "Save queue", onclick: () => savePlaylist(plName.value) }));
  const qCard = el("div", { class: "card" }, el("div", { class: "row" }, el("h2", { text: "Queue", style: "margin:0" }),
    el("div", { class: "spacer" }), radioBtn,
    el("button", { class: "btn", text: "Clear", onclick: () => { st.queue = []; st.index = -1; renderQueue(); } })), qList, plRow);

  async function refreshPlaylists(select = plSel.value) {
    try {
      const d = await api("/api/playlists");
      plSel.replaceChildren(el("option", { value: "", text: d.playlists.length ? "Saved playlists" : "No saved playlists" }),
        ...d.playlists.map((p) => el("option", { value: p.id, selected: p.id === select, text: `${p.name} (${p.count})` })));
    } catch { /* the offline banner says it */ }
  }

  const slug = (name) => name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);

  async function savePlaylist(name) {
    name = name.trim();
    if (!name) { shell.toast("Give the playlist a name first."); plName.focus(); return; }
    const id = slug(name) || `playlist-${Date.now()}`;
    try {
      await api(`/api/playlists/${id}`, { method: "PUT",
        body: { name, items: st.queue.map((t) => ({ md5: t.md5, song: songOf(t) })) } });
      shell.toast(`Saved: ${name} (${st.queue.length} songs)`);
      plName.value = "";
      refreshPlaylists(id);
    } catch (e) { shell.error(`Cannot save the playlist: ${e.message}`); }
  }

  async function loadPlaylist(id) {
    if (!id) { shell.toast("Choose a saved playlist first."); return; }
    try {
      const p = await api(`/api/playlists/${id}`);
      const items = p.items.filter((it) => it.tune).map((it) => ({ ...it.tune, pick_song: it.song }));
      const gone = p.items.length - items.length;
      st.queue = items; st.index = -1; renderQueue();
      shell.toast(`Loaded: ${p.name}${gone ? ` (${gone} no longer in the library)` : ""}`);
      if (items.length) step(1);
    } catch (e) { shell.error(`Cannot load the playlist: ${e.message}`); }
  }

  async function deletePlaylist(id) {
    if (!id) { shell.toast("Choose a saved playlist first."); return; }
    try { await api(`/api/playlists/${id}`, { method: "DELETE", body: {} }); shell.toast("Playlist deleted"); refreshPlaylists(""); }
    catch (e) { shell.error(`Cannot delete the playlist: ${e.message}`); }
  }

  function setRadio(on) {
    st.radio = on;
    radioBtn.setAttribute("aria-pressed", String(on));
    if (on && (!st.session || audio.ended) && !box.active() && st.index >= st.queue.length - 1) radioNext();
  }

  async function radioNext() {
    const q = loadPrefs().radio;
    try {
      const d = await api(`/api/radio?n=1&quality=${encodeURIComponent(q)}&exclude=${st.recent.join(",")}`);
      const p = d.picks[0];
      if (!p) { shell.toast(q === "liked" ? "Radio: nothing rated well yet. Like some songs first." : "Radio: nothing to play."); setRadio(false); return; }
      st.queue.push({ ...p.tune, pick_song: p.song });
      st.index = st.queue.length - 1;
      renderQueue();
      start(st.queue[st.index], p.song);
    } catch (e) { shell.error(`Radio: ${e.message}`); }
  }
  const songOf = (t) => t.pick_song || t.start_song;

  function renderQueue() {
    qList.replaceChildren();
    st.queue.forEach((t, i) => {
      qList.append(el("li", { "aria-current": i === st.index ? "true" : null },
        el("button", { class: "name", onclick: () => { st.index = i; start(t, songOf(t)); }, "aria-label": `Play ${t.title} from the queue` },
          el("span", { class: "t" }, i === st.index ? icon("play", 14) : null, ` ${t.title}`), el("span", { class: "s", text: t.author })),
        el("button", { class: "btn icon", "aria-label": `Remove ${t.title} from the queue`,
          onclick: () => { st.queue.splice(i, 1); if (st.index >= i) st.index--; renderQueue(); } }, icon("close", 16))));
    });
    if (!st.queue.length) qList.append(el("li", { class: "empty", text: "The queue is empty: use + on a tune." }));
  }

  function enqueue(t) { st.queue.push(t); renderQueue(); shell.toast(`Queued: ${t.title}`); }
  function playNow(t) { st.queue.splice(st.index + 1, 0, t); st.index++; renderQueue(); start(t, t.start_song); }
  function step(d) {
    const i = st.index + d;
    if (i < 0 || i >= st.queue.length) {
      if (d > 0 && st.radio && !box.active()) radioNext();
      else if (box.active() && d > 0) box.next();
      return;
    }
    st.index = i; renderQueue(); start(st.queue[i], songOf(st.queue[i]));
  }

  async function start(t, song, { format = null, at = 0, keepPlaying = true } = {}) {
    const prefs = loadPrefs();
    const body = { path: t.path, song, prefs: { mode: prefs.mode, chip: prefs.chip, format: format || prefs.format } };
    if (box.active()) {
      const tr = await box.play(t, song, body.prefs);
      if (!tr) return;
      clearInterval(st.renewing);
      audio.pause();
      st.session = null; st.tune = t; st.song = tr.song; st.format = tr.format; st.total = NaN; st.rated = null;
      showNow({ platform: tr.platform, chip: tr.chip, format: tr.format || "live" });
      loadVariants();
      return;
    }
    try {
      const s = await api("/api/play", { method: "POST", body });
      st.session = s; st.tune = s.tune; st.song = s.song; st.format = s.variant.format;
      st.recent = [s.tune.md5, ...st.recent.filter((m) => m !== s.tune.md5)].slice(0, 20);
      st.total = s.duration_ms ? s.duration_ms / 1000 : NaN; st.rated = null;
      st.seekTo = at > 0 ? at : null;
      audio.src = s.urls.audio;
      if (keepPlaying) audio.play().catch(() => {});
      showNow();
      loadVariants();
      scheduleRenew();
    } catch (e) {
      shell.error(e instanceof ApiError && e.status === 409 ? e.message : `Cannot play ${t.title}: ${e.message}`);
    }
  }

  function showNow(v = st.session.variant) {
    const t = st.tune;
    title.textContent = t.title || t.path;
    meta.textContent = [t.author, t.released].filter(Boolean).join(" · ");
    badges.replaceChildren(...[`SID ${v.chip.toUpperCase()}`, t.clock, v.platform === "hardware" ? "C64 hardware" : "software",
      v.format.toUpperCase(), t.sids > 1 ? `${t.sids} SIDs` : null].filter(Boolean).map((b) => el("span", { class: "badge", text: b })));
    songSel.replaceChildren(...Array.from({ length: t.songs }, (_, i) =>
      el("option", { value: String(i + 1), selected: i + 1 === st.song, text: `${i + 1} / ${t.songs}${t.durations_ms[i] ? ` (${fmtTime(t.durations_ms[i] / 1000)})` : ""}` })));
    fmtSel.replaceChildren(...["mp3", "flac", "wav"].map((f) => el("option", { value: f, selected: f === st.format, text: f.toUpperCase() })));
    seek.max = String(isFinite(st.total) ? st.total : 0);
    setRatingEnabled(true);
    for (const b of [likeBtn, dislikeBtn]) b.setAttribute("aria-pressed", "false");
    for (const r of stars.querySelectorAll("input")) r.checked = false;
    document.title = `${t.title} · SIDFlow`;
  }

  async function loadVariants() {
    try {
      const d = await api(`/api/library/tune?md5=${st.tune.md5}`);
      showStil(d.stil);
      const mine = d.variants.filter((v) => v.song === st.song);
      const sv = st.session && st.session.variant;
      variantsInfo.textContent = sv && sv.platform === "hardware" && !sv.cached
        ? "recording on the C64 Ultimate as you listen"
        : mine.length ? `ready: ${mine.map((v) => `${v.format}${v.platform === "hardware" ? " (C64)" : ""}`).join(", ")}` : "rendering on first play";
    } catch { variantsInfo.textContent = ""; }
  }

  function showStil(stil) {
    const lines = [];
    if (stil) {
      const song = (stil.songs && stil.songs[String(st.song)]) || [];
      for (const f of [...song, ...stil.global]) {
        lines.push(el("p", {}, el("strong", { text: `${f.key[0]}${f.key.slice(1).toLowerCase()}: ` }), f.value));
      }
    }
    stilInfo.replaceChildren(...lines);
  }

  function setRatingEnabled(on) {
    for (const b of [likeBtn, dislikeBtn, skipBtn, ...stars.querySelectorAll("input")]) b.disabled = !on;
  }

  async function rate(action, n) {
    if (!st.tune) return;
    try {
      await api("/api/rate", { method: "POST", body: { md5: st.tune.md5, song: st.song, action, stars: n } });
      if (action === "like" || action === "dislike") {
        likeBtn.setAttribute("aria-pressed", String(action === "like"));
        dislikeBtn.setAttribute("aria-pressed", String(action === "dislike"));
      }
      shell.toast(action === "stars" ? `Rated ${n} star${n > 1 ? "s" : ""}` : `Thanks: ${action} saved`);
    } catch (e) { shell.error(`Rating not saved: ${e.message}`); }
  }

  // Sessions expire when unused; a playing client renews, and opens a new one if it lapsed.
  function scheduleRenew() {
    clearInterval(st.renewing);
    st.renewing = setInterval(async () => {
      if (!st.session || audio.paused) return;
      try { await api(st.session.urls.renew, { method: "POST", body: {} }); }
      catch (e) { if (e.status === 404) start(st.tune, st.song, { format: st.format, at: audio.currentTime, keepPlaying: !audio.paused }); }
    }, RENEW_MS);
  }

  function toggle() {
    if (box.active()) { box.toggle(); return; }
    if (!st.session) { if (st.queue.length) step(st.index < 0 ? 1 : 0); return; }
    if (audio.paused) audio.play().catch((e) => shell.error(`Playback failed: ${e.message}`)); else audio.pause();
  }

  function seekTo(t) {
    if (!st.session || box.active()) return;
    const r = audio.seekable;
    for (let i = 0; i < r.length; i++) if (t >= r.start(i) && t <= r.end(i)) { audio.currentTime = t; return; }
    // Not seekable yet (still rendering): ask again, the finished file supports ranges.
    st.seekTo = t;
    const playing = !audio.paused;
    audio.src = `${st.session.urls.audio}?t=${Date.now()}`;
    if (playing) audio.play().catch(() => {});
  }

  audio.addEventListener("loadedmetadata", () => {
    if (st.seekTo !== null) {
      const r = audio.seekable, t = st.seekTo;
      st.seekTo = null;
      if (r.length && t <= r.end(r.length - 1)) audio.currentTime = t;
      else if (t > 0) shell.toast("Seeking works once the song has finished rendering.");
    }
  });
  audio.addEventListener("play", () => { if (!box.active()) setPlayIcon(true); });
  audio.addEventListener("pause", () => { if (!box.active()) setPlayIcon(false); });
  audio.addEventListener("timeupdate", () => {
    const total = isFinite(st.total) ? st.total : audio.duration;
    time.textContent = `${fmtTime(audio.currentTime)} / ${fmtTime(total)}`;
    if (document.activeElement !== seek) seek.value = String(audio.currentTime);
    if (isFinite(total)) seek.max = String(total);
  });
  audio.addEventListener("ended", () => {
    // "Every song of a tune": the next subtune first (not for a song the radio picked).
    const cur = st.queue[st.index];
    if (loadPrefs().subtunes === "all" && st.tune && st.song < st.tune.songs && !(cur && cur.pick_song)) {
      start(st.tune, st.song + 1, { format: st.format });
    } else step(1);
  });
  audio.addEventListener("error", () => {
    if (!st.session) return;
    shell.error("The audio could not be played. Try another format in the Format menu.");
  });
  seek.addEventListener("change", () => seekTo(Number(seek.value)));
  songSel.addEventListener("change", () => st.tune && start(st.tune, Number(songSel.value), { format: st.format }));
  fmtSel.addEventListener("change", () => st.tune && start(st.tune, st.song, { format: fmtSel.value, at: audio.currentTime }));
  onPrefs(() => { if (st.tune) variantsInfo.textContent = "preferences apply from the next tune"; });

  // Keyboard: Space play/pause, ←/→ seek 5 s, N/P next/previous, / search.
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input,select,textarea") && e.key !== "Escape") return;
    if (e.target.closest("button") && (e.key === " " || e.key === "Enter")) return;
    if (panel.hidden) return;
    if (e.key === " ") { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowRight" && st.session) seekTo(audio.currentTime + 5);
    else if (e.key === "ArrowLeft" && st.session) seekTo(Math.max(0, audio.currentTime - 5));
    else if (e.key === "n" || e.key === "N") step(1);
    else if (e.key === "p" || e.key === "P") step(-1);
    else if (e.key === "/") { e.preventDefault(); search.focus(); }
  });

  // What is playing on this box (server-sent events).
  if (window.EventSource) {
    const es = new EventSource("/api/events");
    es.addEventListener("playing", (m) => {
      try { const d = JSON.parse(m.data); lastPlayed.textContent = `Last started on this box: ${d.title} by ${d.author}`; } catch {}
    });
  }

  const panel = el("section", {}, el("div", { class: "grid" }, libCard, el("div", { class: "stack" }, nowCard, qCard)));
  renderQueue();
  refreshPlaylists();
  browse("");
  return panel;
}
