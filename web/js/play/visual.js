// "See the music": what each SID voice does, synced to playback. Loaded only when the
// listener opens the view (a dynamic import), and it draws only while open and visible:
// hidden, it costs the page nothing.
//
// For a software render the box sends the song's register track (/api/playback/ID/voices:
// 50 frames a second); from it each voice's note (from its frequency), waveform and an
// envelope level (a small ADSR model driven by the gate) are shown as a piano roll of the
// last seconds and a meter per voice. For hardware recordings and live streams there is no
// track: a spectrum from the Web Audio analyser stands in.
import { levelGraph } from "./level.js";

const WAVES = [[0x80, "noise"], [0x40, "pulse"], [0x20, "saw"], [0x10, "triangle"]];
const COLOURS = { noise: "#9f9f9f", pulse: "#67b6bd", saw: "#bfce72", triangle: "#b86962", "": "#505050" };
const NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
// SID envelope times in seconds (attack; decay and release are three times longer).
const ATTACK = [0.002, 0.008, 0.016, 0.024, 0.038, 0.056, 0.068, 0.08, 0.1, 0.25, 0.5, 0.8, 1, 3, 5, 8];

/** Parses a voice track; null if it is not one. */
export function parseTrack(buf) {
  const b = new Uint8Array(buf);
  if (b.length < 16 || String.fromCharCode(...b.slice(0, 4)) !== "SIDV") return null;
  const dv = new DataView(buf);
  const chips = b[5], rate = dv.getUint16(6, true), frames = dv.getUint32(8, true), clock = dv.getUint32(12, true);
  if (b.length < 16 + frames * chips * 26) return null;
  const voices = chips * 3;
  // Per voice and frame: MIDI note (or -1), waveform, level 0-1.
  const note = new Float32Array(voices * frames), level = new Float32Array(voices * frames), wave = new Array(voices * frames);
  const env = new Float32Array(voices).fill(0), phase = new Array(voices).fill("r");
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < chips; c++) {
      const o = 16 + (f * chips + c) * 26, gates = b[o + 25];
      for (let v = 0; v < 3; v++) {
        const r = o + v * 7, i = c * 3 + v, k = i * frames + f;
        const freq = b[r] | (b[r + 1] << 8), ctrl = b[r + 4], ad = b[r + 5], sr = b[r + 6];
        const hz = (freq * clock) / 16777216;
        note[k] = hz > 8 ? 69 + 12 * Math.log2(hz / 440) : -1;
        wave[k] = (WAVES.find(([m]) => ctrl & m) || [0, ""])[1];
        // Envelope: attack on a rising gate, decay to sustain, release when the gate drops.
        if ((gates >> v) & 1) phase[i] = "a";
        else if (!(ctrl & 1)) phase[i] = "r";
        const dt = 1 / rate, sus = (sr >> 4) / 15;
        if (phase[i] === "a") { env[i] += dt / ATTACK[ad >> 4]; if (env[i] >= 1) { env[i] = 1; phase[i] = "d"; } }
        else if (phase[i] === "d") env[i] = Math.max(sus, env[i] - dt / (3 * ATTACK[ad & 15]));
        else env[i] = Math.max(0, env[i] - dt / (3 * ATTACK[sr & 15]));
        level[k] = wave[k] ? env[i] : 0;
      }
    }
  }
  return { chips, rate, frames, voices, note, level, wave };
}

const noteName = (n) => (n < 0 ? "–" : `${NOTES[Math.round(n) % 12]}${Math.floor(Math.round(n) / 12) - 1}`);

export function createVisual({ canvas, audio, labels }) {
  const g = canvas.getContext("2d");
  let track = null, analyser = null, data = null, raf = 0, on = false;

  function size() {
    const r = canvas.getBoundingClientRect(), d = devicePixelRatio || 1;
    if (canvas.width !== Math.round(r.width * d)) { canvas.width = Math.round(r.width * d); canvas.height = Math.round(r.height * d); }
  }

  function drawTrack(t) {
    const W = canvas.width, H = canvas.height, T = track;
    const f0 = Math.min(T.frames - 1, Math.floor(audio.currentTime * T.rate));
    const span = 4 * T.rate, lanes = T.voices, lh = H / lanes;
    g.fillStyle = "#101218"; g.fillRect(0, 0, W, H);
    for (let i = 0; i < lanes; i++) {
      // The lane's pitch range: notes 24-96 across its height.
      for (let x = 0; x < W; x++) {
        const f = f0 - span + Math.floor((x / W) * span);
        if (f < 0) continue;
        const k = i * T.frames + f, lv = T.level[k];
        if (lv <= 0.02 || T.note[k] < 0) continue;
        const y = i * lh + lh - ((Math.min(96, Math.max(24, T.note[k])) - 24) / 72) * (lh - 6) - 4;
        g.fillStyle = COLOURS[T.wave[k]];
        g.globalAlpha = 0.3 + 0.7 * lv;
        g.fillRect(x, y, 1.5, 3);
      }
      g.globalAlpha = 1;
      const k = i * T.frames + f0;
      // The meter: the envelope level, at the right edge.
      g.fillStyle = COLOURS[T.wave[k]];
      g.fillRect(W - 8, i * lh + lh * (1 - T.level[k]), 6, lh * T.level[k]);
      g.fillStyle = "#3a3f55"; g.fillRect(0, (i + 1) * lh - 1, W, 1);
      if (labels[i]) labels[i].textContent = `Voice ${i + 1}: ${noteName(T.note[k])} ${T.wave[k] || "silent"}`;
    }
    void t;
  }

  function drawSpectrum() {
    const W = canvas.width, H = canvas.height;
    analyser.getByteFrequencyData(data);
    g.fillStyle = "#101218"; g.fillRect(0, 0, W, H);
    const n = Math.min(data.length, 128), bw = W / n;
    for (let i = 0; i < n; i++) {
      const v = data[i] / 255;
      g.fillStyle = `hsl(${250 - v * 180},70%,60%)`;
      g.fillRect(i * bw, H - v * H, bw - 1, v * H);
    }
  }

  function frame(t) {
    raf = 0;
    if (!on || document.hidden) return;
    size();
    if (track) drawTrack(t); else if (analyser) drawSpectrum();
    raf = requestAnimationFrame(frame);
  }
  document.addEventListener("visibilitychange", () => { if (on && !document.hidden && !raf) raf = requestAnimationFrame(frame); });

  return {
    /** Shows a song: its voice track URL (software renders) or null (spectrum instead). */
    async show(url) {
      track = null;
      for (const l of labels) l.textContent = "";
      if (url) {
        try {
          const r = await fetch(url);
          if (r.ok) track = parseTrack(await r.arrayBuffer());
        } catch { track = null; }
      }
      if (!track && !analyser) {
        // The analyser taps the page's one Web Audio graph, after the levelling gain.
        const g = levelGraph(audio);
        if (g) {
          analyser = g.ctx.createAnalyser();
          analyser.fftSize = 512;
          data = new Uint8Array(analyser.frequencyBinCount);
          g.gain.connect(analyser);
        }
      }
      return track ? "voices" : analyser ? "spectrum" : "none";
    },
    start() { on = true; if (!raf) raf = requestAnimationFrame(frame); },
    stop() { on = false; if (raf) cancelAnimationFrame(raf); raf = 0; },
    get mode() { return track ? "voices" : analyser ? "spectrum" : "none"; },
  };
}
