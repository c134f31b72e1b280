// Real-time factor of the in-browser engine (doc/performance.md, "In-browser engine"):
// seconds of audio rendered per second of CPU, for every demo tune (song 1, 48 kHz, high and
// fast quality, best of 3), in Node.js and in headless Chromium (in a Worker, as the player
// runs it), plus a 300 s fast-forward seek; then 20 s of real playback through the player with
// Chromium held to a fraction of one core, with the player's own underrun counter.
//   node tests/browser/engine-bench.mjs [seconds per tune, default 30; 0: playback runs only]
// CPU time, not wall time, because the machine is shared: Node's from process.cpuUsage(),
// Chromium's from a cgroup (v1 cpuacct) holding every Chromium process. For the playback
// runs Chromium runs under SCHED_RR (chrt -r 1), so that the shared machine's other work does
// not preempt it, and its cgroup's real-time bandwidth (v1 cpu.rt_runtime_us per 10 ms
// cpu.rt_period_us, which the kernel applies per CPU) is what limits it, as a slower CPU
// would. Needs root (cgroups, RT priority); without it, wall time only and no playback runs.
// Loopback only; every run is bounded.
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmdirSync, existsSync, mkdtempSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { buildWasm, serve, ROOT } from "./engine-server.mjs";
import { SidEngine } from "../../web/js/engine/engine.js";

const SECONDS = Number(process.argv[2] || 30);
const RATE = 48000;
const PLAY_SECONDS = 20;
const QUOTAS = [0, 50, 25, 15, 10, 5]; // percent of each core (0: 95 %, the kernel's RT limit)
const tunes = readdirSync(join(ROOT, "demo")).filter((f) => f.endsWith(".sid")).sort();

// The measuring code; the same function runs in Node and, stringified, in a browser Worker.
async function measure(SidEngine, wasm, name, bytes, seconds, rate, clock) {
  const e = await SidEngine.create(wasm);
  const row = { name };
  for (const quality of ["high", "fast"]) {
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      e.load(bytes, { sampleRate: rate, quality, lengthMs: seconds * 1000 });
      const t0 = clock();
      while (e.render(512).length);
      best = Math.min(best, clock() - t0);
    }
    row[quality] = seconds / best;
  }
  e.load(bytes, { sampleRate: rate, lengthMs: 600_000 });
  const t0 = clock();
  e.seek(300 * rate);
  row.seek = 300 / (clock() - t0);
  return row;
}

function table(title, rows) {
  console.log(`\n${title}`);
  console.log("tune                  high     fast   seek 300 s");
  for (const r of rows) {
    console.log(`${r.name.padEnd(20)} ${r.high.toFixed(1).padStart(5)}x ${r.fast.toFixed(1).padStart(7)}x ${r.seek.toFixed(0).padStart(6)}x`);
  }
  const min = (k) => Math.min(...rows.map((r) => r[k])).toFixed(1);
  console.log(`slowest: high ${min("high")}x, fast ${min("fast")}x`);
}

// A cgroup (v1: cpu + cpuacct) that Chromium starts in, through a wrapper script.
function cgroup() {
  const name = `sidflow-engine-bench-${process.pid}`;
  const cpu = `/sys/fs/cgroup/cpu/${name}`, acct = `/sys/fs/cgroup/cpuacct/${name}`;
  try {
    mkdirSync(cpu);
    mkdirSync(acct);
  } catch (e) {
    console.log(`no cgroup (${e.code}): Chromium figures are wall time, playback runs skipped`);
    return null;
  }
  // Real-time tasks may join a group only once it has real-time bandwidth.
  writeFileSync(`${cpu}/cpu.rt_period_us`, "10000");
  writeFileSync(`${cpu}/cpu.rt_runtime_us`, "9500");
  const dir = mkdtempSync(join(tmpdir(), "sidflow-bench-"));
  const wrapper = join(dir, "chromium");
  writeFileSync(wrapper, `#!/bin/sh\necho $$ > ${cpu}/cgroup.procs\necho $$ > ${acct}/cgroup.procs\nexec chrt -r 1 ${process.env.CHROMIUM || "/usr/bin/chromium"} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return {
    wrapper,
    usage: () => Number(readFileSync(`${acct}/cpuacct.usage`, "utf8")) / 1e9,
    quota(percent) {
      writeFileSync(`${cpu}/cpu.rt_runtime_us`, String(percent ? percent * 100 : 9500));
    },
    remove() {
      for (const d of [cpu, acct]) {
        // Chromium has exited; its processes left the group.
        for (let i = 0; i < 50 && existsSync(d); i++) { try { rmdirSync(d); } catch { /* still busy */ } }
      }
    },
  };
}

const wasmPath = buildWasm();
if (!wasmPath) process.exit(0);
const wasm = readFileSync(wasmPath);
const files = tunes.map((t) => [t.replace(/\.sid$/, ""), readFileSync(join(ROOT, "demo", t))]);

const nodeRows = [];
for (const [name, bytes] of SECONDS ? files : []) {
  nodeRows.push(await measure(SidEngine, wasm, name, bytes, SECONDS, RATE, () => process.cpuUsage().user / 1e6));
}
if (SECONDS) table(`Node ${process.version}, CPU time, ${SECONDS} s per tune`, nodeRows);

const cg = cgroup();
if (cg) process.env.CHROMIUM = cg.wrapper;
const { launch } = await import("./browser.mjs");
const server = await serve({
  "bench.js": `import { SidEngine } from "/engine/engine.js";
const measure = ${measure.toString()};
onmessage = async (e) => postMessage(await measure(SidEngine, "/engine/sidflow_engine.wasm",
  e.data.name, e.data.bytes, e.data.seconds, e.data.rate, () => performance.now() / 1000));`,
});
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(server.url + "/");
  console.log(`\n${await page.evaluate(() => navigator.userAgent)}`);
  const rows = [], wall = [];
  for (const [name, bytes] of SECONDS ? files : []) {
    const c0 = cg?.usage();
    const r = await page.evaluate(async (args) => {
      const w = new Worker("/test/bench.js", { type: "module" });
      const r = await new Promise((ok, bad) => {
        w.onmessage = (e) => ok(e.data);
        w.onerror = (e) => bad(new Error(e.message));
        w.postMessage({ ...args, bytes: new Uint8Array(args.bytes) });
      });
      w.terminate();
      return r;
    }, { name, bytes: Array.from(bytes), seconds: SECONDS, rate: RATE });
    wall.push(r);
    if (cg) {
      // The worker's wall-clock shares, scaled to the CPU the whole browser used for it.
      const cpu = cg.usage() - c0;
      const total = 3 * SECONDS / r.high + 3 * SECONDS / r.fast + 300 / r.seek;
      const k = total / cpu;
      rows.push({ name, high: r.high * k, fast: r.fast * k, seek: r.seek * k });
    }
  }
  if (cg && SECONDS) table(`Chromium, Worker, CPU time of all Chromium processes, ${SECONDS} s per tune`, rows);
  if (SECONDS) table(`Chromium, Worker, wall time (shared machine), ${SECONDS} s per tune`, wall);

  if (cg) {
    for (const tune of ["three-wishes", "trinity"]) {
      for (const q of QUOTAS) {
        cg.quota(q);
        const c0 = cg.usage();
        const s = await page.evaluate(async ({ tune, secs }) => {
          const { EnginePlayer } = await import("/engine/player.js");
          const p = new EnginePlayer();
          await p.init();
          await p.load(`/demo/${tune}.sid`, { lengthMs: 120_000 });
          p.play();
          await new Promise((ok) => setTimeout(ok, secs * 1000));
          const s = p.stats();
          await p.destroy();
          return s;
        }, { tune, secs: PLAY_SECONDS });
        const used = cg.usage() - c0;
        cg.quota(0);
        console.log(`\nplayback ${PLAY_SECONDS} s, ${tune} (high), Chromium limited to ${q || 95} % of each core: ` +
          `Chromium used ${(100 * used / PLAY_SECONDS).toFixed(1)} % of a core; ` +
          `underruns ${s.underruns} (${s.underrunFrames} frames), waited ${s.waitFrames} frames, ` +
          `played ${(s.playedFrames / s.sampleRate).toFixed(1)} s at ${s.sampleRate} Hz, ` +
          `engine load (render time / audio time) ${(100 * s.renderLoad).toFixed(1)} %`);
      }
    }
  }
} finally {
  await browser.close();
  await server.close();
  cg?.remove();
}
