// The player: ONE interface over the page's playback sources, so the rest of the page does
// not care where the sound comes from.
//
//   player.load(tune, song, {format, at, autoplay}) -> Promise<track|null>
//   player.play() / pause() / toggle() / seek(seconds) / next() / previous()
//   player.on(type, fn) with events
//     "track"   {tune, song, format, variant, session, duration, source}  a song was loaded
//     "state"   {playing}
//     "time"    {time, duration}
//     "waiting" {percent} or null   waiting for the render (percent known) or the network
//     "ended"                        the song played to its end (the queue moves on)
//     "error"   {message, fatal}     fatal: the song cannot go on (the queue moves on)
//
// A source is an object with the same methods plus `name`, `canSeek`, `time`, `duration`,
// `paused` and `on()`; `load` rejects when the source refuses the song (nothing changes
// then). Sources today: "stream" (the box streams the song to this page, ./stream.js) and
// "lineout" (the box's own line-out, ../box.js). An in-browser engine plugs in the same way:
// add it to `sources` and let `pick()` choose it.
import { ApiError, el } from "../api.js";
import { loadPrefs } from "../prefs.js";

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

  const pick = async () => (box.active() ? lineout : ready());

  async function load(tune, song, { format = null, at = 0, autoplay = true } = {}) {
    const prefs = loadPrefs();
    const src = await pick();
    const mine = ++seq;
    try {
      const t = await src.load(tune, song, { format, prefs, at, autoplay });
      if (mine !== seq) return null; // a later load won
      if (src !== source) source.stop();
      source = src;
      track = { ...t, source: src.name };
      emit("track", track);
      return track;
    } catch (e) {
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
    load,
    play() {
      const p = source.play();
      if (p && p.catch) p.catch((e) => { if (e.name !== "AbortError") shell.error(`Playback failed: ${e.message}`); });
    },
    pause() { source.pause(); },
    toggle() { if (source === lineout) lineout.toggle(); else if (stream.paused) this.play(); else stream.pause(); },
    seek(t) { if (source.canSeek && track) source.seek(t); },
    next() { queue.next(); },
    previous() { queue.previous(); },
    async live(url) { await ready(); if (source !== stream) source.stop(); source = stream; track = null; stream.live(url); },
    forget() { source.stop(); stream.stop(); track = null; },
    bindQueue(q) { queue = q; },
    lineoutState(s) { lineout.emit("state", { playing: s.state === "playing" }); },
    get track() { return track; },
    get tune() { return track && track.tune; },
    get song() { return track && track.song; },
    get format() { return track && track.format; },
    get session() { return source === stream ? stream.session : null; },
    get time() { return source.time; },
    get duration() { return source.duration; },
    get paused() { return source.paused; },
    get source() { return source.name; },
    get rendered() { return source === stream ? stream.rendered : Infinity; },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
