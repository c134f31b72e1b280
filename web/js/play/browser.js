// Playback source "browser": our own engine (WebAssembly, ../engine/) plays the song in this
// browser, so the box only sends the tune's file: nothing is rendered on the box.
//
// Per song: a playback session (the box's record that someone listens, the variant its rules
// choose, the .sid's URL), the .sid (from IndexedDB when this browser played it before, else
// from the box, then kept: ./offline.js), and the engine's `load`. A load rejects with a
// `Handoff` when the box should stream the song instead (a real C64's recording exists and
// the preferences ask for it; the box's rules chose sidplayfp; the engine refuses the tune;
// this browser cannot run the engine); the player then streams it with the same session.
//
// The engine's files come from the folder `GET /api/browser-engine` names (content-hashed, cached
// for a year); the last one is remembered, so with the box away a page that is already open
// still finds the engine in the browser's cache and plays the tunes it kept.
import { api } from "../api.js";
import { getSid, putSid } from "./offline.js";

const ENGINE_KEY = "sidflow.engine";
const LENGTH_KEY = "sidflow.defaultSongMs";
const RENEW_MS = 60_000;

/** The song goes to another source (the box's stream), with the session if there is one. */
export class Handoff extends Error {
  constructor(message, session, { unsupported = true } = {}) {
    super(message);
    this.session = session;
    this.unsupported = unsupported;
  }
}

/** The chip the box's rules choose (playback.rs: choose_chip), for playing without the box. */
export function chipFor(tune, pref) {
  if (pref === "6581" || pref === "8580") return pref;
  if (tune.chip === "6581" || tune.chip === "8580") return tune.chip;
  return pref === "tune-8580" ? "8580" : "6581";
}

/**
 * `context()`: the page's AudioContext (the player makes it in the listener's gesture).
 * `base`: the engine folder (tests); default: what `GET /api/browser-engine` says.
 */
export function createBrowserSource({ context }) {
  const subs = new Map();
  const emit = (type, data) => { for (const fn of subs.get(type) || []) fn(data); };
  let engineP = null;
  let engine = null;
  let s = null; // the session (null when playing without the box)
  let loads = 0; // the newest load; an older one stops where it is
  let loading = false;
  let renewing = null;
  let quality = "high";

  async function folder() {
    try {
      const e = await api("/api/browser-engine");
      localStorage.setItem(ENGINE_KEY, e.base);
      return e.base;
    } catch (e) {
      if (e.status === 404) {
        localStorage.removeItem(ENGINE_KEY);
        throw new Error("this box was built without the in-browser engine");
      }
      const b = localStorage.getItem(ENGINE_KEY);
      if (b) return b;
      throw new Error("the box cannot be reached to fetch the engine");
    }
  }

  // The engine: loaded on first use, one for the page's life.
  function start() {
    engineP ||= (async () => {
      const base = await folder();
      const { EnginePlayer } = await import(`${base}player.js`);
      const p = new EnginePlayer({ context: context() });
      await p.init();
      p.addEventListener("play", () => emit("state", { playing: true }));
      p.addEventListener("pause", () => emit("state", { playing: false }));
      p.addEventListener("timeupdate", () => emit("time", { time: p.currentTime, duration: p.duration }));
      p.addEventListener("seeking", () => emit("waiting", { percent: null }));
      p.addEventListener("seeked", () => emit("waiting", null));
      p.addEventListener("ended", () => emit("ended"));
      p.addEventListener("error", (e) => {
        // A load's refusal is answered by load() itself.
        if (!loading) emit("error", { message: `The engine stopped: ${e.detail.message}`, fatal: true });
      });
      engine = p;
      return p;
    })();
    engineP.catch(() => { engineP = null; });
    return engineP;
  }

  function renew() {
    clearInterval(renewing);
    renewing = setInterval(() => {
      if (s && engine && !engine.paused) api(s.urls.renew, { method: "POST", body: {} }).catch(() => {});
    }, RENEW_MS);
  }

  async function load(tune, song, { prefs, at = 0, autoplay = true } = {}) {
    const mine = ++loads;
    const stale = () => mine !== loads;
    const p = start();
    p.catch(() => {}); // answered below, once the session says whether the engine is needed
    let sess = null;
    try {
      sess = await api("/api/play", { method: "POST",
        body: { path: tune.path, song, prefs: { mode: prefs.mode, chip: prefs.chip, format: prefs.format, engine: prefs.engine } } });
    } catch (e) {
      if (e.status !== 0) throw e; // the box's refusal, as for the stream
    }
    if (sess && sess.variant.platform === "hardware") {
      throw new Handoff("A real C64's recording of this song exists: it streams from the box.", sess, { unsupported: false });
    }
    if (sess && sess.variant.platform === "sidplayfp") {
      throw new Handoff("This song renders with sidplayfp, which only the box has: it streams from the box.", sess, { unsupported: false });
    }
    let bytes = await getSid(tune.md5);
    if (!bytes) {
      if (!sess) throw new Error("the box cannot be reached, and this tune was not played in this browser before");
      const r = await fetch(sess.urls.sid);
      if (!r.ok) throw new Error(`the tune's file: HTTP ${r.status}`);
      bytes = await r.arrayBuffer();
    }
    putSid(tune.md5, bytes.slice(0), tune.path); // kept (or its last play refreshed) for later
    let player;
    try { player = await p; } catch (e) {
      throw new Handoff(`This browser cannot run the engine (${e.message}): playing from the box.`, sess);
    }
    if (stale()) throw new Error("superseded");
    if (sess && !sess.duration_ms) localStorage.setItem(LENGTH_KEY, String(sess.length_ms));
    const chip = sess ? (sess.variant.chip.startsWith("8580") ? "8580" : "6581") : chipFor(tune, prefs.chip);
    const lengthMs = sess ? sess.length_ms
      : (tune.durations_ms && tune.durations_ms[song - 1]) || Number(localStorage.getItem(LENGTH_KEY)) || 180_000;
    // A device that needed more than half its time to render the last song: the cheaper quality.
    if (player.renderLoad !== null && player.renderLoad > 0.5) quality = "fast";
    if (!autoplay && !player.paused) player.pause();
    let info;
    loading = true;
    try {
      info = await player.load(bytes, { song, chip, lengthMs, quality });
      if (at > 0 && !stale()) await player.seek(at);
    } catch (e) {
      if (stale()) throw new Error("superseded");
      throw new Handoff(`This tune cannot play in this browser (${e.message}): playing from the box.`, sess);
    } finally { loading = false; }
    if (stale()) throw new Error("superseded");
    s = sess;
    if (autoplay) player.play();
    renew();
    return { tune: sess ? sess.tune : tune, song, format: "sid", session: sess, offline: !sess,
      variant: { platform: "software", chip: info.chip, format: "sid", cached: false, engine: "browser", quality },
      duration: info.totalFrames / info.sampleRate };
  }

  return {
    name: "browser",
    canSeek: true,
    load,
    play() { if (engine && engine.info) engine.play(); },
    pause() { if (engine) engine.pause(); },
    seek(t) { if (engine && engine.info) engine.seek(Math.max(0, Math.min(t, engine.duration))).catch(() => {}); },
    stop() { loads++; s = null; clearInterval(renewing); if (engine) engine.pause(); },
    /** The SID voices as heard now (the engine's own data), for "see the music". */
    voices() { return engine && engine.info ? engine.voices() : []; },
    stats() { return engine ? engine.stats() : null; },
    get time() { return engine ? engine.currentTime : 0; },
    get duration() { return engine && engine.info ? engine.duration : NaN; },
    get paused() { return !engine || engine.paused; },
    get session() { return s; },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
