// The SIDFlow engine (crates/wasm-engine, built to sidflow_engine.wasm) as a JavaScript
// class. No DOM: the same module runs in the page's engine worker, in Node.js (tests,
// benchmarks) and anywhere else WebAssembly runs. See doc/browser-engine.md.

export const ABI_VERSION = 1;

const CHIPS = { "": 0, tune: 0, 6581: 1, 8580: 2 };
const VIDEOS = { "": 0, tune: 0, pal: 1, ntsc: 2 };
const QUALITIES = { high: 0, fast: 1 };
const INFO = ["song", "songs", "startSong", "chip", "chips", "video", "sampleRate", "channels", "totalFrames", "clockHz"];
const WAVEFORMS = ["triangle", "saw", "pulse", "noise"];

/** Compiles the module from bytes, a Response, a URL string or a WebAssembly.Module. */
export async function compileEngine(source) {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === "string" || source instanceof URL) source = await fetch(source);
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.ok) throw new Error(`engine: HTTP ${source.status} for ${source.url}`);
    if (WebAssembly.compileStreaming && (source.headers.get("content-type") || "").startsWith("application/wasm")) {
      return WebAssembly.compileStreaming(source);
    }
    source = await source.arrayBuffer();
  }
  return WebAssembly.compile(source);
}

// One engine per module instance: create() instantiates a fresh one each time.
export class SidEngine {
  /** `source`: anything compileEngine takes. */
  static async create(source) {
    const module = await compileEngine(source);
    const instance = await WebAssembly.instantiate(module, {});
    return new SidEngine(instance);
  }

  constructor(instance) {
    this.x = instance.exports;
    const abi = this.x.sf_abi_version();
    if (abi !== ABI_VERSION) throw new Error(`engine: module ABI ${abi}, this script speaks ${ABI_VERSION}`);
    this.info = null;
  }

  error() {
    const p = this.x.sf_error(), n = this.x.sf_error_len();
    return new TextDecoder().decode(new Uint8Array(this.x.memory.buffer, p, n));
  }

  /**
   * Loads a tune. `bytes`: Uint8Array or ArrayBuffer. Options: song (1-based, 0/undefined =
   * the tune's start song), chip ("6581" | "8580" | undefined = the tune's), video ("pal" |
   * "ntsc" | undefined), sampleRate (Hz), quality ("high" | "fast"), lengthMs (0/undefined:
   * 24 h). Returns the song's facts; throws with the engine's message.
   */
  load(bytes, opts = {}) {
    const src = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const chip = CHIPS[opts.chip ?? ""], video = VIDEOS[String(opts.video ?? "").toLowerCase()];
    const quality = QUALITIES[opts.quality ?? "high"];
    if (chip === undefined || video === undefined || quality === undefined) {
      throw new Error(`engine: bad option (chip ${opts.chip}, video ${opts.video}, quality ${opts.quality})`);
    }
    const p = this.x.sf_input(src.length);
    if (!p) throw new Error(`engine: the file is ${src.length} bytes, not a SID tune`);
    new Uint8Array(this.x.memory.buffer, p, src.length).set(src);
    const rc = this.x.sf_load(src.length, opts.song | 0, chip, video,
      opts.sampleRate ?? 48000, quality, opts.lengthMs ?? 0);
    if (rc < 0) { this.info = null; throw new Error(this.error()); }
    const info = {};
    INFO.forEach((k, i) => { info[k] = this.x.sf_info(i); });
    info.chip = info.chip === 2 ? "8580" : "6581";
    info.video = info.video === 2 ? "ntsc" : "pal";
    this.info = info;
    return info;
  }

  /**
   * Renders up to `frames` frames. Returns an array of Float32Array views (one per channel,
   * `n` samples each; valid until the next engine call), empty at the end of the song.
   */
  render(frames) {
    const n = this.x.sf_render(frames);
    if (n < 0) throw new Error(this.error());
    const base = this.x.sf_output(), stride = this.x.sf_stride();
    const out = [];
    if (n === 0) return out;
    for (let c = 0; c < this.info.channels; c++) {
      out.push(new Float32Array(this.x.memory.buffer, base + 4 * c * stride, n));
    }
    return out;
  }

  /** Moves to `frame`; returns the new position in frames. */
  seek(frame) {
    const p = this.x.sf_seek(frame);
    if (p < 0) throw new Error(this.error());
    return p;
  }

  /** Frames rendered (or skipped) so far. */
  position() { return this.x.sf_position(); }

  /** The raw voice bytes after the last render/seek (a copy; 32 bytes per SID chip). */
  voiceBytes() {
    return new Uint8Array(this.x.memory.buffer, this.x.sf_voices(), this.x.sf_voices_len()).slice();
  }

  /** The voices as objects (see decodeVoices). */
  voices() { return decodeVoices(this.voiceBytes(), this.info?.clockHz ?? 985248); }

}

/**
 * Voice bytes (SidEngine.voiceBytes) -> [{ chip, voice, frequency (register), hz, note
 * (MIDI number, fractional; null when silent), pulseWidth, waveforms ["saw", ...], gate,
 * sync, ring, test, attack, decay, sustain, release, envelope (0-255), phase ("attack" |
 * "decay-sustain" | "release"), filtered }].
 */
export function decodeVoices(bytes, clockHz) {
  const out = [];
  for (let chip = 0; chip * 32 + 32 <= bytes.length; chip++) {
    const b = bytes.subarray(chip * 32, chip * 32 + 32);
    for (let v = 0; v < 3; v++) {
      const o = v * 8;
      const frequency = b[o] | (b[o + 1] << 8);
      const ctrl = b[o + 4];
      const hz = frequency * clockHz / 16777216;
      out.push({
        chip, voice: v, frequency, hz,
        note: hz > 0 ? 69 + 12 * Math.log2(hz / 440) : null,
        pulseWidth: b[o + 2] | (b[o + 3] << 8),
        waveforms: WAVEFORMS.filter((_, i) => ctrl & (0x10 << i)),
        gate: !!(ctrl & 1), sync: !!(ctrl & 2), ring: !!(ctrl & 4), test: !!(ctrl & 8),
        attack: b[o + 5] >> 4, decay: b[o + 5] & 15, sustain: b[o + 6] >> 4, release: b[o + 6] & 15,
        envelope: b[o + 7],
        phase: ["attack", "decay-sustain", "release"][b[28 + v]] ?? "release",
        filtered: !!(b[26] & (1 << v)),
      });
    }
  }
  return out;
}
