// The in-browser player (web/js/engine/: the wasm engine in a Worker feeding an AudioWorklet)
// in headless Chromium, served by a tiny loopback server (engine-server.mjs), not the daemon.
// A recording AudioWorklet ("tap") sits between the player and the speakers, so the test
// compares what the player actually output with the engine's own render in Node (which
// crates/wasm-engine/tests/identical.rs shows equal to the native renderer), quantum by
// quantum: a quantum either matches the next reference samples or is an underrun (a matching
// prefix, then silence), and the underruns the tap sees must equal the player's counter.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch } from "./browser.mjs";
import { buildWasm, serve, ROOT } from "./engine-server.mjs";
import { SidEngine } from "../../web/js/engine/engine.js";

const TAP = `
class Tap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buf = null;
    this.port.onmessage = (e) => { this.buf = [new Float32Array(e.data), new Float32Array(e.data)]; this.n = 0; };
  }
  process(inputs) {
    const i = inputs[0];
    if (this.buf && i.length) {
      const k = Math.min(i[0].length, this.buf[0].length - this.n);
      this.buf[0].set(i[0].subarray(0, k), this.n);
      this.buf[1].set((i[1] || i[0]).subarray(0, k), this.n);
      this.n += k;
      if (this.n === this.buf[0].length) { this.port.postMessage(this.buf); this.buf = null; }
    }
    return true;
  }
}
registerProcessor("tap", Tap);`;

let wasm, server, browser, page;

before(async () => {
  wasm = buildWasm();
  if (!wasm) return;
  server = await serve({ "tap.js": TAP });
  browser = await launch();
  page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(server.url + "/");
  await page.evaluate(async () => {
    const { EnginePlayer } = await import("/engine/player.js");
    const ctx = new AudioContext();
    await ctx.audioWorklet.addModule("/test/tap.js");
    const tap = new AudioWorkletNode(ctx, "tap", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
    tap.connect(ctx.destination);
    const player = new EnginePlayer({ context: ctx, destination: tap });
    const events = {};
    for (const t of ["ready", "loaded", "play", "pause", "seeking", "seeked", "timeupdate", "ended", "error", "underrun"]) {
      player.addEventListener(t, () => { events[t] = (events[t] || 0) + 1; });
    }
    await player.init();
    window.T = {
      player, ctx, events,
      // Records `frames` frames of what the player outputs; resolves [left, right] as arrays.
      record(frames) {
        return new Promise((resolve) => {
          tap.port.onmessage = (e) => resolve(e.data.map((c) => Array.from(c)));
          tap.port.postMessage(frames);
        });
      },
    };
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** The engine's render in Node: `frames` frames of channel 0 after `ops` (seek/render). */
async function reference(tune, sampleRate, frames, opts = {}) {
  const e = await SidEngine.create(readFileSync(wasm));
  e.load(readFileSync(join(ROOT, "demo", tune)), { sampleRate, ...opts });
  const out = new Float32Array(frames);
  let at = 0;
  while (at < frames) {
    const ch = e.render(Math.min(4096, frames - at));
    if (!ch.length) break;
    out.set(ch[0].subarray(0, Math.min(ch[0].length, frames - at)), at);
    at += ch[0].length;
  }
  return out;
}

/**
 * Walks a recording quantum by quantum against the reference: each quantum is either the next
 * reference samples or an underrun (a matching prefix, then silence). Alignment: with
 * `startsSilent`, the recording starts before play and the audio starts at reference frame 0
 * at some quantum boundary (whose first quantum is faded in, so matching starts one quantum
 * later); otherwise the recording starts mid-song, somewhere in reference frames [lo, hi).
 * Returns { matched, gaps } (reference frames matched, underrun quanta). Throws on anything
 * that is neither the engine's output nor underrun silence.
 */
function compare(rec, ref, { startsSilent = false, lo = 0, hi = 0 } = {}, q = 128) {
  const same = (o, r, n) => { for (let j = 0; j < n; j++) if (rec[o + j] !== ref[r + j]) return false; return true; };
  let o = -1, r = -1;
  if (startsSilent) {
    for (let k = 0; k + 2 * q <= rec.length; k += q) if (same(k + q, q, 64)) { o = k + q; r = q; break; }
  } else {
    for (let k = lo; k < hi; k++) if (same(0, k, 256)) { o = 0; r = k; break; }
  }
  assert.ok(o >= 0, "the recording never lines up with the engine's output");
  const start = r;
  let gaps = 0;
  for (; o + q <= rec.length; o += q) {
    let k = 0;
    while (k < q && r + k < ref.length && rec[o + k] === ref[r + k]) k++;
    if (k < q) {
      for (let j = k; j < q; j++) {
        assert.equal(rec[o + j], 0, `recording sample ${o + j} (reference ${r + j}) is neither the engine's output nor underrun silence`);
      }
      gaps++;
    }
    r += k;
  }
  return { matched: r - start, gaps };
}

test("the worklet plays the engine's output sample for sample, with a working underrun counter", { timeout: 120_000 }, async (t) => {
  if (!wasm) return t.skip("no wasm target");
  const rate = await page.evaluate(() => T.ctx.sampleRate);
  const info = await page.evaluate(async () => T.player.load("/demo/three-wishes.sid", { lengthMs: 60_000 }));
  assert.equal(info.sampleRate, rate, "the engine renders at the context's rate");
  assert.equal(info.channels, 1);

  // 1. Play 2 s, recorded from before the first sample.
  const frames = 2 * rate;
  const [rec, stats] = await page.evaluate(async (frames) => {
    const r = T.record(frames);
    T.player.play();
    const rec = await r;
    await new Promise((ok) => setTimeout(ok, 300));
    return [rec[0], T.player.stats()];
  }, frames);
  const ref = await reference("three-wishes.sid", rate, 3 * rate);
  const a = compare(rec, ref, { startsSilent: true });
  console.log(`plain play: ${a.matched} frames equal to the engine's, ${a.gaps} underrun quanta; counters`, stats);
  assert.ok(a.matched > frames / 2, `only ${a.matched} frames played`);
  assert.equal(a.gaps, stats.underruns, "underruns the recording shows = the player's counter");
  assert.ok(stats.playedFrames >= a.matched && stats.quanta > 0);
  assert.ok(stats.renderLoad > 0 && stats.renderLoad < 1, `engine load ${stats.renderLoad}`);

  // 2. Starve the worklet: the worker is kept busy for 1.5 s (three times the 0.5 s buffer).
  const before = stats.underruns;
  const [rec2, stats2, pos2] = await page.evaluate(async (frames) => {
    const pos = T.player.pos.frame;
    const r = T.record(frames);
    T.player.worker.postMessage({ type: "stall", ms: 1500 });
    const rec = await r;
    await new Promise((ok) => setTimeout(ok, 300));
    return [rec[0], T.player.stats(), pos];
  }, 3 * rate);
  const refLong = await reference("three-wishes.sid", rate, pos2 + 4 * rate);
  const b = compare(rec2, refLong, { lo: pos2, hi: pos2 + rate });
  console.log(`starved: ${b.gaps} underrun quanta seen; counters`, stats2);
  assert.ok(stats2.underruns > before, "a starved worklet counts underruns");
  assert.ok(stats2.underrunFrames >= rate / 2, `${stats2.underrunFrames} frames missing`);
  assert.equal(b.gaps, stats2.underruns - before, "underruns the recording shows = the counter's increase");
  assert.ok(await page.evaluate(() => T.events.underrun > 0), "an underrun event");
  // After the stall the song goes on where it stopped (compare() checked every sample).
  assert.ok(b.matched > 2 * rate * 0.5);

  // 3. Position, voices, pause.
  const [time, voices, updates, played] = await page.evaluate(() =>
    [T.player.currentTime, T.player.voices(), T.events.timeupdate, T.player.stats().playedFrames / T.ctx.sampleRate]);
  // No seek yet: the position is what the worklet played, less the output latency.
  assert.ok(time > 3 && Math.abs(time - played) < 0.5, `position ${time}, played ${played} s`);
  assert.ok(updates > 10, `${updates} timeupdate events`);
  assert.equal(voices.length, 3);
  // Sounding: a waveform at an audible pitch with its envelope open (in its release phase
  // too: which note is held at this instant depends on how far the song got).
  assert.ok(voices.some((v) => v.hz > 50 && v.waveforms.length && v.envelope > 0),
    `a voice is sounding: ${JSON.stringify(voices)}`);
  const [p1, p2] = await page.evaluate(async () => {
    T.player.pause();
    await new Promise((ok) => setTimeout(ok, 200));
    const a = T.player.currentTime;
    await new Promise((ok) => setTimeout(ok, 500));
    return [a, T.player.currentTime];
  });
  assert.equal(p1, p2, "paused: the position stands still");
  const p3 = await page.evaluate(async () => {
    T.player.play();
    await new Promise((ok) => setTimeout(ok, 700));
    return T.player.currentTime;
  });
  assert.ok(p3 > p2 + 0.2, `playing again: ${p2} -> ${p3}`);
  assert.deepEqual(page.errors, []);
});

test("seek, end of song, a bad file", { timeout: 60_000 }, async (t) => {
  if (!wasm) return t.skip("no wasm target");
  // Seek far ahead (fast-forward) and back (snapshot).
  const r = await page.evaluate(async () => {
    const at = await T.player.seek(40);
    await new Promise((ok) => setTimeout(ok, 500));
    const t1 = T.player.currentTime;
    const back = await T.player.seek(1.5);
    await new Promise((ok) => setTimeout(ok, 500));
    return { at, t1, back, t2: T.player.currentTime, seeked: T.events.seeked, playing: !T.player.paused };
  });
  assert.ok(Math.abs(r.at - 40) < 0.01, `seek landed at ${r.at}`);
  assert.ok(r.t1 > 40 && r.t1 < 41.5, `then played on from 40: ${r.t1}`);
  assert.ok(Math.abs(r.back - 1.5) < 0.01 && r.t2 > 1.5 && r.t2 < 3, `back to 1.5: ${r.t2}`);
  assert.equal(r.seeked, 2);

  // A short song ends with an 'ended' event at its length.
  const end = await page.evaluate(async () => {
    await T.player.load("/demo/first-light.sid", { lengthMs: 1200 });
    const ended = new Promise((ok) => T.player.addEventListener("ended", (e) => ok(e.detail.time), { once: true }));
    T.player.play();
    return ended;
  });
  assert.ok(Math.abs(end - 1.2) < 0.01, `ended at ${end}`);

  // Garbage is refused with the engine's message and an error event; the player still works.
  const bad = await page.evaluate(async () => {
    const before = T.events.error || 0;
    let msg = null;
    try { await T.player.load(new Uint8Array([1, 2, 3, 4])); } catch (e) { msg = e.message; }
    const info = await T.player.load("/demo/sixty-hertz.sid", { lengthMs: 5000 });
    return { msg, errors: (T.events.error || 0) - before, video: info.video };
  });
  assert.match(bad.msg, /not a playable SID file/);
  // A player whose module cannot be fetched fails init() with the reason.
  const noWasm = await page.evaluate(async () => {
    const { EnginePlayer } = await import("/engine/player.js");
    const p = new EnginePlayer({ context: T.ctx, wasmUrl: "/engine/missing.wasm" });
    try { await p.init(); return "init succeeded"; } catch (e) { return e.message; } finally { p.worker?.terminate(); p.node?.disconnect(); }
  });
  assert.match(noWasm, /HTTP 404/);
  assert.equal(bad.errors, 1);
  assert.equal(bad.video, "ntsc");
  assert.deepEqual(page.errors, []);
});
