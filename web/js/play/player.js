// The player: ONE interface over the page's playback sources, so the rest of the page does
// not care where the sound comes from.
//
//   player.load(tune, song, {format, at, autoplay}) -> Promise<track|null>
//   player.play() / pause() / toggle() / seek(seconds) / next() / previous()
//   player.on(type, fn) with events
//     "track"   {tune, song, format, variant, session, duration, source, note}  a song was loaded
//     "state"   {playing}
//     "time"    {time, duration}
//     "waiting" {percent} or null   waiting for the render (percent known) or the network
//     "ended"                        the song played to its end (the queue moves on)
//     "error"   {message, fatal}     fatal: the song cannot go on (the queue moves on)
//
// A source is an object with the same methods plus `name`, `canSeek`, `time`, `duration`,
// `paused` and `on()`; `load` rejects when the source refuses the song (nothing changes
// then), or with a `Handoff` (./browser.js) when the box's stream should play it instead.
// Sources: "browser" (our engine in this page, ./browser.js), "stream" (the box streams the
// song to this page's <audio>, ./stream.js), "lineout" (the box's own line-out, ../box.js)
// and "ultimate" (a C64 Ultimate of the network, ./ultimate.js). Which one plays is the
// listener's Preferences choice ("source"), read at every load: a change takes effect with
// the next song. A choice this browser or box cannot honour falls back to the stream, and
// the track says why (`note`, also shown as a toast).
import { ApiError, el } from "../api.js";
import { loadPrefs } from "../prefs.js";

/** What the in-browser engine needs (the engine's own EnginePlayer.supported()). */
export function engineSupported() {
  return typeof WebAssembly === "object" && typeof Worker === "function" && typeof AudioContext === "function"
    && typeof AudioWorkletNode === "function" && typeof MessageChannel === "function";
}

function lineoutSource(box) {
  const subs = new Map();
  const emit = (type, data) => { for (const fn of subs.get(type) || []) fn(data); };
  return {
    name: "lineout",
    canSeek: false,
    async load(tune, song, { prefs, format }) {
      const tr = await box.play(tune, song, { ...prefs, format: format || prefs.format });
      if (!tr) throw new Error("refused"); // box.play said why
      return { tune, song: tr.song, format: tr.format,
        variant: { platform: tr.platform, chip: tr.chip, format: tr.format || "live" }, session: null, duration: NaN };
    },
    play() { if (box.status()?.state !== "playing") box.toggle(); },
    pause() { if (box.status()?.state === "playing") box.toggle(); },
    toggle() { box.toggle(); },
    seek() {},
    stop() {},
    get time() { return NaN; },
    get duration() { return NaN; },
    get paused() { return box.status()?.state !== "playing"; },
    emit,
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}

// Until the stream source's module is loaded (it is not needed for the first screen).
const idleSource = (audio) => ({ name: "stream", canSeek: false, audio, time: 0, duration: NaN, paused: true, session: null,
  rendered: 0, play() {}, pause() {}, seek() {}, stop() {}, live() {}, on() {} });

export function createPlayer({ shell, box }) {
  const audio = el("audio", { preload: "auto", id: "audio" });
  let stream = idleSource(audio);
  const lineout = lineoutSource(box);
  const subs = new Map();
  const emit = (type, data) => { for (const fn of subs.get(type) || []) fn(data); };
  let track = null;
  let source = stream;
  let queue = { next() {}, previous() {} };
  let seq = 0;
  const wire = (src) => {
    for (const type of ["state", "time", "waiting", "ended", "error"]) {
      src.on(type, (d) => { if (src === source) emit(type, d); });
    }
    src.on("note", (m) => { if (src === source) shell.toast(m); });
  };
  wire(lineout);
  let streamLoaded = null;
  const ready = () => (streamLoaded ||= import("./stream.js").then(({ createStreamSource }) => {
    const was = stream;
    stream = createStreamSource({ audio });
    wire(stream);
    if (source === was) source = stream;
    return stream;
  }));

  // The in-browser engine and the C64 Ultimate: their modules load on first use.
  let context = null;
  const audioContext = () => {
    // Made in the listener's gesture (browsers start a context made later suspended). A
    // device running above the renderer's 96 kHz gets a 48 kHz context instead.
    if (!context) {
      context = new AudioContext({ latencyHint: "playback" });
      if (context.sampleRate > 96000) { context.close(); context = new AudioContext({ latencyHint: "playback", sampleRate: 48000 }); }
    }
    return context;
  };
  let browserP = null, ultimateP = null;
  const browser$ = () => (browserP ||= import("./browser.js").then(({ createBrowserSource }) => {
    const b = createBrowserSource({ context: audioContext });
    wire(b);
    return b;
  }));
  const ultimate$ = () => (ultimateP ||= import("./ultimate.js").then(({ createUltimateSource }) => {
    const u = createUltimateSource();
    wire(u);
    return u;
  }));

  /** The source for the listener's choice, or the stream and why (`note`). */
  async function pick(prefs) {
    if (box.active()) return { src: lineout };
    switch (prefs.source) {
      case "browser":
        if (engineSupported()) return { src: await browser$() };
        return { src: await ready(), note: "This browser cannot run the SID engine (it lacks WebAssembly or AudioWorklet): playing from the box." };
      case "lineout":
        await box.ready();
        if (box.active()) return { src: lineout };
        return { src: await ready(), note: "The box has no working line-out: playing from the box in this browser." };
      case "ultimate": return { src: await ultimate$() };
      default: return { src: await ready() };
    }
  }

  async function load(tune, song, { format = null, at = 0, autoplay = true } = {}) {
    const prefs = loadPrefs();
    if (!["mp3", "flac", "wav"].includes(format)) format = null; // "sid", "c64": not the box's formats
    // The engine's AudioContext is made now, while the listener's click is still "current".
    if (prefs.source === "browser" && !box.active() && engineSupported()) audioContext();
    const mine = ++seq;
    let note = null;
    try {
      let { src, note: why } = await pick(prefs);
      note = why || null;
      let toast = !!note;
      let t;
      try {
        t = await src.load(tune, song, { format, prefs, at, autoplay });
      } catch (e) {
        // Another source cannot (or should not) play it: the box streams it, with the
        // session already made if there is one.
        if (!e || !("session" in e) || mine !== seq) throw e;
        note = e.message;
        toast = e.unsupported;
        src = await ready();
        t = await src.load(tune, song, { format, prefs, at, autoplay, session: e.session });
      }
      if (mine !== seq) { if (src !== source) src.stop(); return null; } // a later load won
      if (src !== source) source.stop();
      source = src;
      track = { ...t, source: src.name, note };
      if (toast) shell.toast(note);
      emit("track", track);
      return track;
    } catch (e) {
      if (mine !== seq) return null;
      if (e.message !== "refused") {
        // The box's refusal names the Preferences options ("hardware if available").
        shell.error(e instanceof ApiError && e.status === 409
          ? `${e.message}${prefs.mode === "hardware" ? " (Preferences › Rendering)" : ""}` : `Cannot play ${tune.title}: ${e.message}`);
      }
      return null;
    }
  }

  return {
    audio,
    ready,
    /**
     * After the first screen: the modules the chosen source needs, so that a page opened
     * while the box was there can still play what this browser kept once it is gone.
     */
    prepare() {
      ready();
      if (loadPrefs().source === "browser" && engineSupported()) browser$();
    },
    load,
    play() {
      const p = source.play();
      if (p && p.catch) p.catch((e) => { if (e.name !== "AbortError") shell.error(`Playback failed: ${e.message}`); });
    },
    pause() { source.pause(); },
    toggle() { if (source === lineout) lineout.toggle(); else if (source.paused) this.play(); else source.pause(); },
    seek(t) { if (source.canSeek && track) source.seek(t); },
    next() { queue.next(); },
    previous() { queue.previous(); },
    async live(url) { await ready(); if (source !== stream) source.stop(); source = stream; track = null; stream.live(url); },
    forget() { source.stop(); stream.stop(); track = null; },
    bindQueue(q) { queue = q; },
    lineoutState(s) { lineout.emit("state", { playing: s.state === "playing" }); },
    /** The SID voices as the in-browser engine plays them now, or null for other sources. */
    voices() { return source.name === "browser" ? source.voices() : null; },
    /** The in-browser engine's counters (underruns, render load...), or null. */
    engineStats() { return browserP && source.name === "browser" ? source.stats() : null; },
    get track() { return track; },
    get tune() { return track && track.tune; },
    get song() { return track && track.song; },
    get format() { return track && track.format; },
    get session() { return source.session || null; },
    get time() { return source.time; },
    get duration() { return source.duration; },
    get paused() { return source.paused; },
    get source() { return source.name; },
    get rendered() { return source === stream ? stream.rendered : Infinity; },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
