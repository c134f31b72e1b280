// Load benchmark: N listeners playing in their browsers (the default playback source), as the
// box sees them. Each listener is one loopback address of its own (127.10.0.1 + i, so the
// box's per-client limits apply to each as to a real phone), and does what the page does:
//
//   once:            GET / and every file the page loads (found by following the page's
//                    src/href and the modules' imports), GET /api/library/browse?path=,
//                    GET /api/browser-engine and the five engine files (gzip accepted, as a browser)
//                    and then holds GET /api/events (the page's event stream) to the end
//   per song:        GET /api/radio?n=1&quality=any, POST /api/play, GET /api/playback/ID/sid
//   while it plays:  POST /api/playback/ID/renew every 60 s
//
// Songs last `--song` seconds on average (0.5x-1.5x, uniform); listeners arrive evenly over
// `--ramp` seconds; the run lasts `--duration` seconds. Every request but the event stream is
// a new connection (`Connection: close`: a phone's kept-alive connection is closed by the
// box's idle timeout between renewals anyway), at most `--inflight` at once. Reported: the
// box's CPU time (/proc/PID/stat) per phase as a share of one core, its renders (the render
// counter of /api/health: must not move), and latency percentiles per request kind.
//
//   node tests/load/inbrowser-sessions.mjs --url http://127.0.0.1:PORT --pid PID \
//        [--sessions 5000] [--ramp 60] [--duration 300] [--song 180] [--renew 60] [--inflight 256]
//        [--events 0]   (no event stream: what the rest costs)
// (tests/load/run.sh starts a release sidflowd and runs this.)
import http from "node:http";
import { readFileSync } from "node:fs";

const args = Object.fromEntries(process.argv.slice(2).reduce((a, x, i, all) => {
  if (x.startsWith("--")) a.push([x.slice(2), all[i + 1]]);
  return a;
}, []));
const URL_ = new URL(args.url || "http://127.0.0.1:8080");
const PID = Number(args.pid || 0);
const N = Number(args.sessions || 5000);
const RAMP = Number(args.ramp || 60);
const DURATION = Number(args.duration || 300);
const SONG = Number(args.song || 180);
const RENEW = Number(args.renew || 60);
const INFLIGHT = Number(args.inflight || 256);
const EVENTS = args.events !== "0"; // --events 0: no event stream (to tell its cost apart)

const t0 = performance.now();
const now = () => (performance.now() - t0) / 1000;
const sleep = (s) => new Promise((r) => setTimeout(r, Math.max(0, s * 1000)));

function cpu() {
  if (!PID) return NaN;
  const s = readFileSync(`/proc/${PID}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
}

// At most INFLIGHT requests at once (the box caps connections: server.max_connections).
let inflight = 0, maxWait = 0;
const waiting = [];
async function slot() {
  if (inflight < INFLIGHT) { inflight++; return; }
  const t = now();
  await new Promise((r) => waiting.push(r));
  maxWait = Math.max(maxWait, now() - t);
}
function release() { const next = waiting.shift(); if (next) next(); else inflight--; }

const stats = new Map(); // "phase kind" -> { ms: [], bytes, errors: Map(status -> n) }
const phaseOf = (t) => (t < RAMP ? "ramp" : t >= RAMP + RENEW ? "steady" : "settle");
function record(kind, t, ms, status, bytes = 0) {
  if (kind === "setup") return; // the benchmark's own requests (the page's file list, health)
  const key = `${phaseOf(t)} ${kind}`;
  if (!stats.has(key)) stats.set(key, { ms: [], bytes: 0, errors: new Map() });
  const s = stats.get(key);
  s.bytes += bytes;
  if (status >= 200 && status < 300) s.ms.push(ms);
  else s.errors.set(status, (s.errors.get(status) || 0) + 1);
}

function request(ip, method, path, body, kind, headers = {}) {
  return new Promise((resolve) => {
    slot().then(() => {
      const start = now();
      const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const req = http.request({
        host: URL_.hostname, port: URL_.port, method, path, localAddress: ip, agent: false,
        headers: { Connection: "close", ...headers, ...(data ? { "Content-Type": "application/json", "Content-Length": data.length } : {}) },
      }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          release();
          const buf = Buffer.concat(chunks);
          record(kind, start, (now() - start) * 1000, res.statusCode, buf.length);
          resolve({ status: res.statusCode, body: buf });
        });
        res.on("error", () => { release(); record(kind, start, 0, 0); resolve({ status: 0, body: null }); });
      });
      req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
      req.on("error", () => { release(); record(kind, start, 0, 0); resolve({ status: 0, body: null }); });
      if (data) req.write(data);
      req.end();
    });
  });
}

// The page's event stream: one long-lived connection per listener (outside the request slots),
// held until `until` seconds. Counts what arrived; a stream the box closed or refused is an error.
const streams = { open: 0, peak: 0, refused: new Map(), dropped: 0, bytes: 0, events: 0 };
function eventStream(ip, until) {
  return new Promise((resolve) => {
    const start = now();
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    const req = http.request({
      host: URL_.hostname, port: URL_.port, method: "GET", path: "/api/events", localAddress: ip, agent: false,
      headers: { Accept: "text/event-stream" },
    }, (res) => {
      if (res.statusCode !== 200) {
        streams.refused.set(res.statusCode, (streams.refused.get(res.statusCode) || 0) + 1);
        res.resume();
        res.on("end", finish);
        return;
      }
      record("events", start, (now() - start) * 1000, 200);
      streams.open++;
      streams.peak = Math.max(streams.peak, streams.open);
      const timer = setTimeout(() => { closing = true; req.destroy(); }, Math.max(0, (until - now()) * 1000));
      let closing = false;
      res.on("data", (c) => { streams.bytes += c.length; streams.events += (c.toString().match(/^event: /gm) || []).length; });
      res.on("close", () => {
        clearTimeout(timer);
        streams.open--;
        if (!closing) streams.dropped++;
        finish();
      });
    });
    req.on("error", (e) => {
      if (!done && !req.res) streams.refused.set(e.code || "conn", (streams.refused.get(e.code || "conn") || 0) + 1);
      finish();
    });
    req.end();
  });
}

// What a browser loads for the page: "/" and what it names (src, href, modulepreload), then
// every module those import (static `from "..."`, `import "..."` and `import("...")` with a
// literal path), once. Found from the box itself, so the list follows the web/ folder.
async function pageFiles() {
  const seen = new Set(["/"]);
  const todo = ["/"];
  while (todo.length) {
    const path = todo.shift();
    const r = await request("127.0.0.1", "GET", path, undefined, "setup");
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
    const text = r.body.toString();
    const refs = [];
    if (path === "/" ) for (const m of text.matchAll(/(?:src|href)="([^"]+)"/g)) refs.push(m[1]);
    if (path.endsWith(".js")) for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+\.js)["']/g)) refs.push(m[1]);
    for (const ref of refs) {
      const u = new URL(ref, `http://box${path}`);
      if (u.host !== "box" || !u.pathname.includes(".") || u.pathname.startsWith("/api/")) continue;
      if (!seen.has(u.pathname)) { seen.add(u.pathname); todo.push(u.pathname); }
    }
  }
  return [...seen];
}

const GZ = { "Accept-Encoding": "gzip, deflate, br" };

/** Fetches `paths` over at most 6 connections at once, as a browser does per HTTP/1.1 host. */
async function six(ip, paths, kind) {
  const todo = [...paths];
  const worker = async () => {
    for (let p = todo.shift(); p; p = todo.shift()) await request(ip, "GET", p, undefined, kind(p), GZ);
  };
  await Promise.all(Array.from({ length: Math.min(6, todo.length) }, worker));
}

async function listener(i, page, engine) {
  const ip = `127.10.${(i + 1) >> 8}.${(i + 1) & 255}`;
  await sleep((RAMP * i) / N - now());
  await six(ip, page, () => "page");
  await request(ip, "GET", "/api/library/browse?path=", undefined, "browse", GZ);
  const ev = EVENTS ? eventStream(ip, DURATION) : null;
  const e = await request(ip, "GET", "/api/browser-engine", undefined, "engine");
  if (e.status === 200) {
    const base = JSON.parse(e.body).base;
    await six(ip, engine.map((f) => base + f), (p) => (p.endsWith(".wasm") ? "wasm" : "engjs"));
  }
  while (now() < DURATION) {
    const radio = await request(ip, "GET", "/api/radio?n=1&quality=any", undefined, "radio");
    let pick = null;
    try { pick = radio.status === 200 ? JSON.parse(radio.body).picks[0] : null; } catch { pick = null; }
    if (!pick) { await sleep(5); continue; }
    const r = await request(ip, "POST", "/api/play", { path: pick.tune.path, song: pick.song, prefs: {} }, "play");
    let s = null;
    try { s = r.status === 201 ? JSON.parse(r.body) : null; } catch { s = null; }
    if (!s) { await sleep(5); continue; }
    await request(ip, "GET", s.urls.sid, undefined, "sid");
    const end = now() + SONG * (0.5 + Math.random());
    while (now() + RENEW < Math.min(end, DURATION)) {
      await sleep(RENEW);
      await request(ip, "POST", s.urls.renew, {}, "renew");
    }
    await sleep(Math.min(end, DURATION) - now());
  }
  await ev;
}

function pct(sorted, p) { return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN; }

async function health() {
  const r = await request("127.0.0.1", "GET", "/api/health", undefined, "setup");
  return JSON.parse(r.body).renders;
}

async function main() {
  const page = await pageFiles();
  const engine = ["player.js", "engine.js", "engine-worker.js", "player-worklet.js", "sidflow_engine.wasm"];
  const rendersBefore = await health();
  stats.clear();
  const marks = { start: [0, cpu()] };
  setTimeout(() => { marks.ramp = [now(), cpu()]; }, RAMP * 1000);
  setTimeout(() => { marks.steady = [now(), cpu()]; }, (RAMP + RENEW) * 1000);
  const all = [];
  for (let i = 0; i < N; i++) all.push(listener(i, page, engine));
  await Promise.all(all);
  marks.end = [now(), cpu()];
  const rendersAfter = await health();
  const share = (a, b) => (100 * (marks[b][1] - marks[a][1])) / (marks[b][0] - marks[a][0]);
  console.log(`${N} listeners, ramp ${RAMP} s, songs ${SONG} s (0.5-1.5x), renew every ${RENEW} s, run ${marks.end[0].toFixed(0)} s; `
    + `page ${page.length} files; event streams ${EVENTS ? "held" : "not opened"}; at most ${INFLIGHT} requests at once (longest wait for a slot: ${(maxWait * 1000).toFixed(0)} ms)`);
  if (PID) {
    console.log(`box CPU (share of one core): ramp ${share("start", "ramp").toFixed(2)} %, `
      + `steady ${share("steady", "end").toFixed(2)} % (from ${marks.steady[0].toFixed(0)} s to the end), `
      + `whole run ${share("start", "end").toFixed(2)} % (${(marks.end[1] - marks.start[1]).toFixed(2)} s of CPU)`);
  }
  console.log(`box renders: before ${JSON.stringify(rendersBefore)}, after ${JSON.stringify(rendersAfter)}`);
  const refused = [...streams.refused].map(([k, v]) => `${k}:${v}`).join(" ") || "none";
  console.log(`event streams: peak ${streams.peak} open at once, refused ${refused}, closed by the box ${streams.dropped}, `
    + `${streams.events} events and ${(streams.bytes / 1024).toFixed(0)} KiB received in all`);
  console.log("phase   kind    requests  per s  p50 ms  p90 ms  p99 ms  max ms  MiB     errors");
  for (const [key, s] of [...stats].sort()) {
    const [phase, kind] = key.split(" ");
    const span = phase === "ramp" ? RAMP : phase === "settle" ? RENEW : marks.end[0] - RAMP - RENEW;
    const ms = s.ms.sort((a, b) => a - b);
    const errs = [...s.errors].map(([k, v]) => `${k || "conn"}:${v}`).join(" ") || "-";
    console.log(`${phase.padEnd(7)} ${kind.padEnd(7)} ${String(ms.length).padStart(8)} ${(ms.length / span).toFixed(1).padStart(6)} `
      + `${pct(ms, 50).toFixed(1).padStart(7)} ${pct(ms, 90).toFixed(1).padStart(7)} ${pct(ms, 99).toFixed(1).padStart(7)} `
      + `${(ms[ms.length - 1] ?? NaN).toFixed(1).padStart(7)} ${(s.bytes / 1048576).toFixed(1).padStart(7)}  ${errs}`);
  }
  if (rendersAfter.started !== rendersBefore.started) process.exitCode = 1;
}

main().catch((e) => { console.error(e); process.exit(1); });
