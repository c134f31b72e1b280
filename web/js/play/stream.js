// Playback source "stream": the box renders (or has cached) the song and streams it to this
// page's <audio>. A playback session names the audio; it is renewed while playing and
// reopened if it lapsed. Nothing may stall the queue: a watchdog notices a position that no
// longer moves and either shows how far the render is ("rendering… n %", from the box's
// render events) or reloads the audio at the same place, and gives up on the song (an
// "error" the player answers by moving on) after a few failed attempts.
import { api } from "../api.js";
import { onEvent } from "../events.js";

const RENEW_MS = 60_000;
const STUCK_MS = 3000;
const ATTEMPTS = 3;

export function createStreamSource({ audio }) {
  const subs = new Map();
  const emit = (type, data) => { for (const fn of subs.get(type) || []) fn(data); };
  let s = null; // the session
  let want = false; // the listener wants sound (play pressed, not paused)
  let pending = null; // a position to reach once the audio can seek there
  let render = null; // the last render event of this session's variant
  let moved = { t: 0, at: 0 };
  let attempts = 0;
  let renewing = null;
  let live = false;

  const length = () => (s ? (s.length_ms || s.duration_ms || 0) / 1000 : NaN);
  const mine = (r) => s && r.path === s.tune.path && r.song === s.song && r.chip === s.variant.chip
    && r.platform === s.variant.platform;
  const percent = () => (render && render.total_ms ? Math.floor((100 * render.done_ms) / render.total_ms) : null);
  const rendering = () => render && render.state === "rendering";
  const renderedTo = () => (!s ? 0 : s.variant.cached || (render && render.state === "done") ? Infinity
    : render ? render.done_ms / 1000 : 0);

  onEvent("render", (r) => {
    if (!mine(r)) return;
    render = r;
    if (waiting()) emit("waiting", { percent: percent() });
    if (r.state !== "rendering" && pending !== null) reload(pending);
  });

  const waiting = () => want && s && (pending !== null || audio.readyState < 3) && !audio.ended;

  function seekable(t) {
    const r = audio.seekable;
    for (let i = 0; i < r.length; i++) if (t >= r.start(i) && t <= r.end(i)) return true;
    return false;
  }

  // Loads the session's audio again and goes to `at` (the finished file supports ranges).
  function reload(at) {
    if (!s) return;
    pending = at;
    attempts++;
    audio.src = `${s.urls.audio}?r=${attempts}`;
    if (want) audio.play().catch(() => {});
  }

  function goTo(t) {
    if (seekable(t)) {
      pending = null;
      audio.currentTime = t;
      moved = { t, at: Date.now() };
      if (t > renderedTo()) emit("waiting", { percent: percent() });
    } else {
      // The element cannot go there yet: after the render, or at once if none runs.
      pending = t;
      emit("waiting", { percent: percent() });
      if (!rendering()) reload(t);
    }
  }

  audio.addEventListener("loadedmetadata", () => {
    if (pending === null) return;
    const t = pending;
    if (seekable(t)) { pending = null; audio.currentTime = t; moved = { t, at: Date.now() }; }
  });
  audio.addEventListener("play", () => emit("state", { playing: true }));
  audio.addEventListener("pause", () => emit("state", { playing: false }));
  audio.addEventListener("waiting", () => { if (want) emit("waiting", { percent: percent() }); });
  audio.addEventListener("playing", () => { attempts = 0; emit("waiting", null); });
  audio.addEventListener("timeupdate", () => {
    if (pending === null && audio.readyState >= 3 && want) emit("waiting", null);
    emit("time", { time: audio.currentTime, duration: isFinite(length()) && length() ? length() : audio.duration });
  });
  audio.addEventListener("ended", () => { if (s) { want = false; emit("ended"); } });
  audio.addEventListener("error", () => {
    if (!s && !live) return;
    if (live) { emit("error", { message: "The live audio stopped.", fatal: true }); return; }
    if (attempts < ATTEMPTS) { reload(audio.currentTime || pending || 0); return; }
    emit("error", { message: "The audio could not be played. Try another format.", fatal: true });
  });

  // The watchdog: a position that no longer moves while the listener wants sound.
  setInterval(() => {
    if (!want || !s || audio.paused && pending === null) return;
    const now = Date.now();
    if (Math.abs(audio.currentTime - moved.t) > 0.05) { moved = { t: audio.currentTime, at: now }; return; }
    if (now - moved.at < STUCK_MS) return;
    const at = pending !== null ? pending : audio.currentTime;
    if (isFinite(length()) && length() && at >= length() - 0.6) { want = false; emit("ended"); return; }
    if (rendering() && at > renderedTo()) { emit("waiting", { percent: percent() }); moved.at = now - STUCK_MS / 2; return; }
    if (attempts >= ATTEMPTS) {
      want = false;
      emit("error", { message: "The song stopped and could not be resumed.", fatal: true });
      return;
    }
    moved.at = now;
    reload(at);
  }, 1000);

  function renew() {
    clearInterval(renewing);
    renewing = setInterval(async () => {
      if (!s || audio.paused) return;
      try { await api(s.urls.renew, { method: "POST", body: {} }); }
      catch (e) {
        if (e.status !== 404) return;
        // The session lapsed: a new one for the same song, at the same place.
        try { await load(s.tune, s.song, { format: s.variant.format, at: audio.currentTime, autoplay: !audio.paused }); }
        catch { /* the next tick tries again */ }
      }
    }, RENEW_MS);
  }

  /**
   * Starts a session for one song (or uses `session`, one another source made for it);
   * resolves to the track, rejects with the box's refusal.
   */
  async function load(tune, song, { format, prefs, at = 0, autoplay = true, session = null } = {}) {
    const sess = session || await api("/api/play", { method: "POST",
      body: { path: tune.path, song, prefs: { mode: prefs.mode, chip: prefs.chip, format: format || prefs.format } } });
    s = sess; live = false; render = null; attempts = 0;
    want = autoplay;
    pending = at > 0 ? at : null;
    moved = { t: at, at: Date.now() };
    audio.src = sess.urls.audio;
    if (autoplay) audio.play().catch(() => {});
    renew();
    return { tune: sess.tune, song: sess.song, format: sess.variant.format, variant: sess.variant, session: sess,
      duration: length() };
  }

  return {
    name: "stream",
    audio,
    canSeek: true,
    load,
    // A C64 Ultimate's audio, live: no session, no end.
    live(url) {
      s = null; live = true; want = true; pending = null; clearInterval(renewing);
      audio.src = url;
      audio.play().catch(() => {});
    },
    play() { want = true; return audio.play(); },
    pause() { want = false; audio.pause(); },
    seek(t) { if (s) goTo(Math.max(0, Math.min(t, length() || t))); },
    stop() { want = false; s = null; live = false; pending = null; clearInterval(renewing); audio.pause(); },
    get time() { return pending !== null ? pending : audio.currentTime; },
    get duration() { return length(); },
    get paused() { return audio.paused; },
    get session() { return s; },
    get rendered() { return renderedTo(); },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
