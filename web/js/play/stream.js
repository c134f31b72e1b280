// Playback source "stream": the box renders (or has cached) the song and streams it to this
// page's <audio>. A playback session names the audio; it is renewed while playing and
// reopened if it lapsed. Nothing may stall the queue: a watchdog notices a position that no
// longer moves and either shows how far the render is ("rendering… n %", from the box's
// render events) or reloads the audio at the same place, and gives up on the song (an
// "error" the player answers by moving on) after a few failed attempts.
//
// Levelling (./level.js): the session names the song's gain when its render was measured
// (cached); a song rendered as it plays starts at the previous song's gain and glides to the
// render's own estimate (its "render" events carry the loudness of what is rendered so far,
// the first within a second) and to the whole song's measurement when the render is done.
import { api } from "../api.js";
import { onEvent } from "../events.js";
import { loadPrefs, onPrefs } from "../prefs.js";
import { setLevel, currentLevel } from "./level.js";

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
  let level = null; // the best known {integrated_lufs, true_peak_dbtp, gain_db} of this song
  let levelFinal = false; // measured on the whole render
  const levelling = () => loadPrefs().level !== "off";
  const applyLevel = (glide) => setLevel(audio, !levelling() || live ? 0 : level ? level.gain_db : currentLevel(), { glide });
  onPrefs(() => { if (s || live) applyLevel(true); });
  // "Hardware only" with every C64 Ultimate busy: the place in line, asked again every
  // couple of seconds; the audio is fetched when the turn comes.
  let inLine = null;
  let lineTimer = null;
  const leaveLine = () => { clearTimeout(lineTimer); lineTimer = null; inLine = null; };

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
    if (r.level && !levelFinal) {
      level = r.level;
      levelFinal = r.state === "done";
      applyLevel(true);
    }
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
    if (!want || !s || inLine !== null || audio.paused && pending === null) return;
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

  /** Starts a session for one song; resolves to the track, rejects with the box's refusal. */
  async function load(tune, song, { format, prefs, at = 0, autoplay = true } = {}) {
    const sess = await api("/api/play", { method: "POST",
      body: { path: tune.path, song, prefs: { mode: prefs.mode, chip: prefs.chip, format: format || prefs.format,
        engine: prefs.engine } } });
    leaveLine();
    s = sess; live = false; render = null; attempts = 0;
    level = sess.level || null; levelFinal = !!sess.level;
    applyLevel(false);
    want = autoplay;
    pending = at > 0 ? at : null;
    moved = { t: at, at: Date.now() };
    const start = () => {
      audio.src = sess.urls.audio;
      if (want) audio.play().catch(() => {});
    };
    if (sess.wait) {
      inLine = sess.wait.place;
      audio.removeAttribute("src");
      audio.load();
      const ask = async () => {
        if (s !== sess) return;
        try {
          const r = await api(sess.urls.renew, { method: "POST", body: {} });
          if (s !== sess) return;
          if (!r.wait) { leaveLine(); emit("waiting", null); start(); return; }
          inLine = r.wait.place;
          emit("waiting", { place: inLine });
        } catch (e) {
          if (s !== sess) return;
          if (e.status === 404) { leaveLine(); emit("error", { message: "The wait for a C64 Ultimate lapsed.", fatal: true }); return; }
        }
        lineTimer = setTimeout(ask, 2000);
      };
      lineTimer = setTimeout(ask, 2000);
    } else start();
    renew();
    return { tune: sess.tune, song: sess.song, format: sess.variant.format, variant: sess.variant, session: sess,
      duration: length(), level: sess.level || null };
  }

  return {
    name: "stream",
    audio,
    canSeek: true,
    load,
    // A C64 Ultimate's audio, live: no session, no end.
    live(url) {
      leaveLine();
      s = null; live = true; want = true; pending = null; clearInterval(renewing);
      level = null; levelFinal = false; applyLevel(false);
      audio.src = url;
      audio.play().catch(() => {});
    },
    play() { want = true; return audio.play(); },
    pause() { want = false; audio.pause(); },
    seek(t) { if (s) goTo(Math.max(0, Math.min(t, length() || t))); },
    stop() { want = false; s = null; live = false; pending = null; leaveLine(); clearInterval(renewing); audio.pause(); },
    get time() { return pending !== null ? pending : audio.currentTime; },
    get duration() { return length(); },
    get paused() { return audio.paused; },
    get session() { return s; },
    get rendered() { return renderedTo(); },
    /** The song's loudness as known now (null: not yet), and whether it is final. */
    get level() { return level ? { ...level, final: levelFinal } : null; },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
