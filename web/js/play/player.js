// The player: plays one song of a tune from the box's stream (a playback session and its
// audio URL) in this page's <audio>, or hands it to the box's line-out when that output is
// chosen. It keeps the session alive while playing and reports what happens as events:
//   "track"  {tune, song, format, variant, session}   a song was loaded
//   "state"  {playing}                                 playing or paused
//   "time"   {time, duration}                          the position moved
//   "ended"                                           the song played to its end
import { api, el, ApiError } from "../api.js";
import { loadPrefs } from "../prefs.js";

const RENEW_MS = 60_000;

export function createPlayer({ shell, box }) {
  const audio = el("audio", { preload: "auto", id: "audio" });
  const st = { session: null, tune: null, song: 1, format: null, total: NaN, renewing: null, seekTo: null };
  const subs = new Map();
  const emit = (type, data) => { for (const fn of subs.get(type) || []) fn(data); };

  async function start(t, song, { format = null, at = 0, keepPlaying = true } = {}) {
    const prefs = loadPrefs();
    const body = { path: t.path, song, prefs: { mode: prefs.mode, chip: prefs.chip, format: format || prefs.format } };
    if (box.active()) {
      const tr = await box.play(t, song, body.prefs);
      if (!tr) return;
      clearInterval(st.renewing);
      audio.pause();
      st.session = null; st.tune = t; st.song = tr.song; st.format = tr.format; st.total = NaN;
      emit("track", { tune: t, song: tr.song, format: tr.format,
        variant: { platform: tr.platform, chip: tr.chip, format: tr.format || "live" }, session: null });
      return;
    }
    try {
      const s = await api("/api/play", { method: "POST", body });
      st.session = s; st.tune = s.tune; st.song = s.song; st.format = s.variant.format;
      st.total = s.duration_ms ? s.duration_ms / 1000 : NaN;
      st.seekTo = at > 0 ? at : null;
      audio.src = s.urls.audio;
      if (keepPlaying) audio.play().catch(() => {});
      emit("track", { tune: s.tune, song: s.song, format: s.variant.format, variant: s.variant, session: s });
      scheduleRenew();
    } catch (e) {
      shell.error(e instanceof ApiError && e.status === 409 ? e.message : `Cannot play ${t.title}: ${e.message}`);
    }
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

  // A live stream (a C64 Ultimate's audio): no session, no tune.
  function playLive(url) {
    st.session = null; st.tune = null; st.total = NaN;
    audio.src = url;
    audio.play().catch(() => {});
  }

  // The box's line-out took over (or plays something of its own).
  function forget() {
    audio.pause();
    st.session = null; st.tune = null; st.total = NaN;
  }

  function toggle(fallback) {
    if (box.active()) { box.toggle(); return; }
    if (!st.session) { fallback(); return; }
    if (audio.paused) audio.play().catch((e) => shell.error(`Playback failed: ${e.message}`)); else audio.pause();
  }

  function seek(t) {
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
  audio.addEventListener("play", () => { if (!box.active()) emit("state", { playing: true }); });
  audio.addEventListener("pause", () => { if (!box.active()) emit("state", { playing: false }); });
  audio.addEventListener("timeupdate", () => {
    const total = isFinite(st.total) ? st.total : audio.duration;
    emit("time", { time: audio.currentTime, duration: total });
  });
  audio.addEventListener("ended", () => emit("ended"));
  audio.addEventListener("error", () => {
    if (!st.session) return;
    shell.error("The audio could not be played. Try another format in the Format menu.");
  });

  return {
    audio,
    get tune() { return st.tune; },
    get song() { return st.song; },
    get format() { return st.format; },
    get session() { return st.session; },
    get total() { return st.total; },
    get time() { return audio.currentTime; },
    get paused() { return audio.paused; },
    get ended() { return audio.ended; },
    start, toggle, seek, playLive, forget,
    pause() { audio.pause(); },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
