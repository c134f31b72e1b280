// The player's underrun counters with the engine's thread slowed k times, as a stand-in for a
// phone (doc/performance.md, "Playback on a k-times slower engine thread"). DevTools calls a 4x
// slowdown its mid-tier mobile preset and 6x its low-end one. For each k, `--seconds` of real
// playback through the player (Worker + AudioWorklet) of a 1-SID and a 3-SID demo tune (high
// quality; the 3-SID one in the fast quality too, which the page switches to when the engine's
// load passed 0.5) in headless Chromium, reading the player's `stats()`.
//   node tests/browser/engine-throttle.mjs [seconds per run, default 20] [k list, default 1,4,6,10,20]
//
// How the thread is slowed: DevTools' own throttling (`Emulation.setCPUThrottlingRate`) is
// refused for workers by this Chromium ("Operation is only supported for pages, not workers")
// and throttles only the page's main thread, where the engine does not run. So the engine's
// Worker loads a wrapper of engine.js (served from this script's server) that, after each
// `load`, `render` and `seek`, busy-waits (k - 1) times what the call took: the thread then does
// 1/k of the work per unit of time, what DevTools' throttler does to a page by suspending it.
// The player, its worker and its worklet are the unchanged files of web/js/engine/.
// Chromium runs under SCHED_RR (chrt -r 1, when root) so that the shared machine's other work
// does not preempt it: the slowdown, not the machine's load, is what is measured.
// Loopback only; every run is bounded.
import { readFileSync, writeFileSync, mkdtempSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { buildWasm, serve, ROOT } from "./engine-server.mjs";

const SECONDS = Number(process.argv[2] || 20);
const KS = (process.argv[3] || "1,4,6,10,20").split(",").map(Number);
const RUNS = [["three-wishes", "high"], ["trinity", "high"], ["trinity", "fast"]];

if (!buildWasm()) process.exit(0);
const rt = process.getuid?.() === 0;
if (rt) {
  const dir = mkdtempSync(join(tmpdir(), "sidflow-throttle-"));
  const wrapper = join(dir, "chromium");
  writeFileSync(wrapper, `#!/bin/sh\nexec chrt -r 1 ${process.env.CHROMIUM || "/usr/bin/chromium"} "$@"\n`);
  chmodSync(wrapper, 0o755);
  process.env.CHROMIUM = wrapper;
} else {
  console.log("not root: Chromium runs at normal priority (a loaded machine adds its own underruns)");
}

// /test/k<k>/: the player's files as they are, and an engine.js that slows its thread k times.
const extra = {};
for (const k of KS) {
  for (const f of ["player.js", "engine-worker.js", "player-worklet.js"]) {
    extra[`k${k}/${f}`] = readFileSync(join(ROOT, "web/js/engine", f), "utf8");
  }
  extra[`k${k}/engine.js`] = `export * from "/engine/engine.js";
import { SidEngine } from "/engine/engine.js";
for (const m of ["load", "render", "seek"]) {
  const f = SidEngine.prototype[m];
  SidEngine.prototype[m] = function (...a) {
    const t0 = performance.now();
    const r = f.apply(this, a);
    const end = performance.now() + ${k - 1} * (performance.now() - t0);
    while (performance.now() < end);
    return r;
  };
}`;
}
const { launch } = await import("./browser.mjs");
const server = await serve(extra);
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(server.url + "/");
  console.log(`${await page.evaluate(() => navigator.userAgent)}`);
  console.log(`${SECONDS} s of playback per run; Chromium under ${rt ? "SCHED_RR" : "normal scheduling"}; `
    + `load average before: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  console.log(" k   tune     quality  underruns (quanta)  underrun s  waited frames  played s  engine load");
  for (const k of KS) {
    for (const [tune, quality] of RUNS) {
      const s = await page.evaluate(async ({ k, tune, quality, secs }) => {
        const { EnginePlayer } = await import(`/test/k${k}/player.js`);
        const p = new EnginePlayer({ wasmUrl: "/engine/sidflow_engine.wasm" });
        await p.init();
        await p.load(`/demo/${tune}.sid`, { lengthMs: 600_000, quality });
        p.play();
        await new Promise((ok) => setTimeout(ok, secs * 1000));
        const s = p.stats();
        await p.destroy();
        return s;
      }, { k, tune, quality, secs: SECONDS });
      console.log(`${String(k).padStart(2)}x  ${tune.padEnd(12)} ${quality.padEnd(4)} ${String(s.underruns).padStart(18)}  `
        + `${(s.underrunFrames / s.sampleRate).toFixed(2).padStart(10)}  ${String(s.waitFrames).padStart(13)}  `
        + `${(s.playedFrames / s.sampleRate).toFixed(1).padStart(8)}  ${(100 * s.renderLoad).toFixed(1).padStart(9)} %`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
