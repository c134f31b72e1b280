// The engine's thread (a module Worker): runs the WebAssembly engine and keeps the player's
// AudioWorklet supplied with rendered blocks through a MessagePort, staying a fixed amount of
// audio ahead of what the worklet reports played. Audio never passes through the page's main
// thread; no SharedArrayBuffer is needed. See doc/browser-engine.md.
//
// From the page (player.js): init { wasm, sampleRate, port, blockFrames, bufferFrames },
// load { gen, bytes, options }, seek { gen, frame }, stall { ms } (tests only).
// To the page: ready, loaded { gen, info }, seeked { gen, frame }, voices { gen, frame, bytes },
// load { renderMs, audioMs } (every ~0.5 s of audio), error { gen, message }.
// To the worklet (port): block { gen, frame, ch: [Float32Array] }, end { gen, frame }.
// From the worklet (port): played { gen, frame }.
import { SidEngine } from "./engine.js";

let engine = null;
let worklet = null;
let sampleRate = 48000;
let blockFrames = 512;
let bufferFrames = 24000;
let gen = 0; // the generation (load or seek) being rendered; older ones are dropped
let next = 0; // absolute frame of the next block
let played = 0; // what the worklet last said it played (same generation)
let live = false; // a song is loaded and not yet rendered to its end
let renderMs = 0, audioFrames = 0;

const post = (m, t) => self.postMessage(m, t || []);

function fail(g, e) {
  live = false;
  post({ type: "error", gen: g, message: String(e?.message ?? e) });
}

// Renders until the worklet holds `bufferFrames` frames beyond what it played.
function topUp() {
  while (live && next - played < bufferFrames) {
    const t0 = performance.now();
    let ch;
    try {
      ch = engine.render(blockFrames);
    } catch (e) {
      fail(gen, e);
      return;
    }
    if (ch.length === 0) {
      live = false;
      worklet.postMessage({ type: "end", gen, frame: next });
      return;
    }
    const n = ch[0].length;
    const copies = ch.map((c) => c.slice()); // out of wasm memory, then transferred
    renderMs += performance.now() - t0;
    audioFrames += n;
    worklet.postMessage({ type: "block", gen, frame: next, ch: copies }, copies.map((c) => c.buffer));
    next += n;
    const v = engine.voiceBytes();
    post({ type: "voices", gen, frame: next, bytes: v }, [v.buffer]);
    if (audioFrames >= sampleRate / 2) {
      post({ type: "load", renderMs, audioMs: (audioFrames / sampleRate) * 1000 });
      renderMs = 0;
      audioFrames = 0;
    }
  }
}

function fromWorklet(ev) {
  const m = ev.data;
  if (m.type === "played" && m.gen === gen) {
    played = m.frame;
    topUp();
  }
}

self.onmessage = async (ev) => {
  const m = ev.data;
  switch (m.type) {
    case "init":
      sampleRate = m.sampleRate;
      blockFrames = m.blockFrames || blockFrames;
      bufferFrames = m.bufferFrames || bufferFrames;
      worklet = m.port;
      worklet.onmessage = fromWorklet;
      try {
        engine = await SidEngine.create(m.wasm);
        post({ type: "ready" });
      } catch (e) {
        fail(0, e);
      }
      break;
    case "load":
      gen = m.gen;
      live = false;
      try {
        const info = engine.load(m.bytes, { ...m.options, sampleRate });
        next = 0;
        played = 0;
        live = true;
        post({ type: "loaded", gen, info });
        post({ type: "voices", gen, frame: 0, bytes: engine.voiceBytes() });
        topUp();
      } catch (e) {
        fail(m.gen, e);
      }
      break;
    case "seek":
      if (!engine?.info) break;
      gen = m.gen;
      try {
        next = engine.seek(m.frame);
        played = next;
        live = next < engine.info.totalFrames;
        post({ type: "seeked", gen, frame: next });
        post({ type: "voices", gen, frame: next, bytes: engine.voiceBytes() });
        if (live) topUp();
        else worklet.postMessage({ type: "end", gen, frame: next });
      } catch (e) {
        fail(m.gen, e);
      }
      break;
    case "stall": {
      // Tests only: keep this thread busy, as a slow or descheduled device would.
      const until = performance.now() + m.ms;
      while (performance.now() < until);
      break;
    }
  }
};
