// The in-browser player: the SIDFlow engine (WebAssembly, in a Worker) feeding an
// AudioWorklet at the AudioContext's own sample rate. What the page calls and the events it
// gets are described in doc/browser-engine.md.
//
//   import { EnginePlayer } from "./engine/player.js";
//   if (EnginePlayer.supported()) {
//     const p = new EnginePlayer();          // files next to this module by default
//     await p.init();                        // call from a click: it creates the AudioContext
//     await p.load("/api/playback/ID/sid", { song: 2, lengthMs: 185000 });
//     p.play();
//     p.addEventListener("ended", ...);
//   }
import { decodeVoices } from "./engine.js";

const VOICE_HISTORY = 256;

export class EnginePlayer extends EventTarget {
  /** True when this browser has what the player needs. */
  static supported() {
    return typeof WebAssembly === "object" && typeof Worker === "function"
      && typeof AudioWorkletNode === "function" && typeof MessageChannel === "function";
  }

  /**
   * Options: base (URL of the folder holding the engine files; default: this module's),
   * wasmUrl (default base + "sidflow_engine.wasm"), context (an AudioContext to use;
   * default: a new one), destination (an AudioNode; default: the context's destination),
   * bufferSeconds (audio rendered ahead, default 0.5), blockFrames (frames per block and
   * per voice snapshot, default 512), quality ("high" default, or "fast").
   */
  constructor(opts = {}) {
    super();
    this.base = new URL(opts.base ?? ".", import.meta.url);
    this.wasmUrl = new URL(opts.wasmUrl ?? "sidflow_engine.wasm", this.base);
    this.opts = { bufferSeconds: 0.5, blockFrames: 512, quality: "high", ...opts };
    this.context = opts.context ?? null;
    this.node = null;
    this.worker = null;
    this.gen = 0;
    this.info = null;
    this.paused = true;
    this.ended = false;
    this.pos = { gen: 0, frame: 0, time: 0, playing: false, stats: null };
    this.voiceLog = [];
    this.renderLoad = null;
    this.waiters = new Map(); // gen -> { resolve, reject, type }
  }

  /** Creates the context (if not given), the worklet node and the engine worker. */
  async init() {
    if (this.node) return;
    const ctx = this.context ?? new AudioContext({ latencyHint: "playback" });
    this.context = ctx;
    await ctx.audioWorklet.addModule(new URL("player-worklet.js", this.base));
    this.node = new AudioWorkletNode(ctx, "sidflow-player", {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2],
    });
    this.node.connect(this.opts.destination ?? ctx.destination);
    this.node.port.onmessage = (e) => this.fromWorklet(e.data);
    this.worker = new Worker(new URL("engine-worker.js", this.base), { type: "module" });
    this.worker.onmessage = (e) => this.fromWorker(e.data);
    this.worker.onerror = (e) => {
      const message = `engine worker: ${e.message || "failed to start"}`;
      for (const [key, w] of this.waiters) { this.waiters.delete(key); w.reject(new Error(message)); }
      this.emit("error", { message });
    };
    const ch = new MessageChannel();
    this.node.port.postMessage({ type: "connect", port: ch.port1 }, [ch.port1]);
    const ready = this.wait(0, "ready");
    this.worker.postMessage({
      type: "init", wasm: this.wasmUrl.href, sampleRate: ctx.sampleRate, port: ch.port2,
      blockFrames: this.opts.blockFrames,
      bufferFrames: Math.round(this.opts.bufferSeconds * ctx.sampleRate),
    }, [ch.port2]);
    await ready;
  }

  get sampleRate() { return this.context?.sampleRate ?? 0; }

  /**
   * Loads a tune: `source` is a URL (fetched) or the file's bytes (ArrayBuffer/Uint8Array).
   * Options: song (1-based; default the tune's start song), chip ("6581" | "8580"), video
   * ("pal" | "ntsc"), lengthMs (when to end; default 24 h), quality. Resolves with the
   * song's facts; rejects with the engine's message. Playing goes on with the new song if
   * the player was playing.
   */
  async load(source, opts = {}) {
    await this.init();
    let bytes = source;
    if (typeof source === "string" || source instanceof URL) {
      const r = await fetch(source);
      if (!r.ok) throw new Error(`HTTP ${r.status} for ${source}`);
      bytes = await r.arrayBuffer();
    }
    bytes = (bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).slice();
    const gen = ++this.gen;
    this.info = null;
    this.ended = false;
    this.voiceLog = [];
    this.node.port.postMessage({ type: "gen", gen, frame: 0 });
    const loaded = this.wait(gen, "loaded");
    const options = {
      song: opts.song, chip: opts.chip, video: opts.video, lengthMs: opts.lengthMs,
      quality: opts.quality ?? this.opts.quality,
    };
    this.worker.postMessage({ type: "load", gen, bytes, options }, [bytes.buffer]);
    const info = await loaded;
    this.info = info;
    this.pos = { ...this.pos, gen, frame: 0, time: this.context.currentTime };
    this.emit("loaded", info);
    return info;
  }

  /** Starts or resumes playing (call from a user gesture the first time). */
  play() {
    if (!this.node) throw new Error("player: init() first");
    if (this.context.state === "suspended") this.context.resume();
    this.paused = false;
    this.ended = false;
    this.node.port.postMessage({ type: "play" });
    this.emit("play");
  }

  pause() {
    if (!this.node) return;
    this.paused = true;
    this.node.port.postMessage({ type: "pause" });
    this.emit("pause");
  }

  /** Moves to `seconds`; resolves with the position reached (seconds). */
  async seek(seconds) {
    if (!this.info) throw new Error("player: nothing loaded");
    const frame = Math.max(0, Math.round(seconds * this.sampleRate));
    const gen = ++this.gen;
    this.ended = false;
    this.voiceLog = [];
    this.node.port.postMessage({ type: "gen", gen, frame });
    this.pos = { ...this.pos, gen, frame, time: this.context.currentTime };
    this.emit("seeking", { time: frame / this.sampleRate });
    const done = this.wait(gen, "seeked");
    this.worker.postMessage({ type: "seek", gen, frame });
    const at = await done;
    this.pos = { ...this.pos, gen, frame: at, time: this.context.currentTime };
    this.emit("seeked", { time: at / this.sampleRate });
    return at / this.sampleRate;
  }

  /** Seconds from the start of the song to what is audible now (paused: where it stopped). */
  get currentTime() {
    if (!this.context || !this.info) return 0;
    let f = this.pos.frame;
    if (this.pos.gen === this.gen && this.pos.playing && !this.paused) {
      const ahead = (this.context.currentTime - this.pos.time) * this.sampleRate;
      f += Math.min(Math.max(ahead, 0), this.sampleRate * 0.25);
      f -= this.latencyFrames();
    }
    return Math.max(0, Math.min(f, this.info.totalFrames)) / this.sampleRate;
  }

  /** Seconds of the song (the lengthMs given to load, else 24 h). */
  get duration() { return this.info ? this.info.totalFrames / this.info.sampleRate : 0; }

  /**
   * The counters: underruns (quanta the worklet could not fill while playing), underrunFrames,
   * waitFrames (silence while a load/seek's first block was on its way), playedFrames,
   * queuedFrames, quanta (render quanta seen), renderLoad (engine time / audio time, e.g.
   * 0.08 = 8 % of a core), sampleRate, baseLatency and outputLatency (seconds).
   */
  stats() {
    return {
      underruns: 0, underrunFrames: 0, waitFrames: 0, playedFrames: 0, queuedFrames: 0, quanta: 0,
      ...(this.pos.stats ?? {}),
      renderLoad: this.renderLoad,
      sampleRate: this.sampleRate,
      baseLatency: this.context?.baseLatency ?? 0,
      outputLatency: this.context?.outputLatency ?? 0,
    };
  }

  /** The SID voices as heard now (decodeVoices' objects), or [] before the first block. */
  voices() {
    const f = this.currentTime * this.sampleRate;
    let pick = null;
    for (const v of this.voiceLog) {
      if (v.frame <= f + this.opts.blockFrames) pick = v; else break;
    }
    pick ??= this.voiceLog[0];
    return pick ? decodeVoices(pick.bytes, this.info?.clockHz ?? 985248) : [];
  }

  /** Stops everything and frees the worker (and the context if the player made it). */
  async destroy() {
    this.worker?.terminate();
    this.node?.disconnect();
    if (this.context && !this.opts.context) await this.context.close();
    this.node = null;
    this.worker = null;
  }

  // ---- internals

  latencyFrames() {
    const c = this.context;
    return ((c.outputLatency || 0) + (c.baseLatency || 0)) * this.sampleRate;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  wait(gen, type) {
    return new Promise((resolve, reject) => this.waiters.set(`${gen}:${type}`, { resolve, reject, gen }));
  }

  settle(gen, type, value, error) {
    const key = `${gen}:${type}`;
    const w = this.waiters.get(key);
    if (!w) return false;
    this.waiters.delete(key);
    if (error) w.reject(error); else w.resolve(value);
    return true;
  }

  fromWorker(m) {
    switch (m.type) {
      case "ready": this.settle(0, "ready"); this.emit("ready"); break;
      case "loaded": this.settle(m.gen, "loaded", m.info); break;
      case "seeked": this.settle(m.gen, "seeked", m.frame); break;
      case "voices":
        if (m.gen !== this.gen) break;
        this.voiceLog.push({ frame: m.frame, bytes: m.bytes });
        if (this.voiceLog.length > VOICE_HISTORY) this.voiceLog.splice(0, this.voiceLog.length - VOICE_HISTORY);
        break;
      case "load": this.renderLoad = m.renderMs / m.audioMs; break;
      case "error": {
        const e = new Error(m.message);
        for (const t of ["ready", "loaded", "seeked"]) this.settle(m.gen, t, null, e);
        this.emit("error", { message: m.message, gen: m.gen });
        break;
      }
    }
  }

  fromWorklet(m) {
    if (m.type === "pos") {
      const before = this.pos.stats?.underruns ?? 0;
      if (m.gen === this.gen) this.pos = m;
      else this.pos = { ...this.pos, stats: m.stats };
      if ((m.stats.underruns ?? 0) > before) this.emit("underrun", this.stats());
      this.emit("timeupdate", { time: this.currentTime });
      // Voice snapshots the worklet has played past are no longer needed.
      const f = this.pos.frame - this.sampleRate;
      while (this.voiceLog.length > 1 && this.voiceLog[1].frame < f) this.voiceLog.shift();
    } else if (m.type === "ended" && m.gen === this.gen) {
      this.paused = true;
      this.ended = true;
      this.emit("ended", { time: m.frame / this.sampleRate });
    }
  }
}
