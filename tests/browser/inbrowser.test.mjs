// The default playback source: our engine in the listener's browser (doc/browser-engine.md,
// doc/web.md). Against the shared sidflowd (run.sh's) and, for what stops the box or measures
// it, a sidflowd of this spec's own (daemon.mjs). In headless Chromium, as the other specs.
import { test, before, after } from "node:test";
import { launch, BASE } from "./browser.mjs";
import { assert, search } from "./helpers.mjs";
import { startDaemon } from "./daemon.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A page at `base + path` that collects errors and every request's method and path. */
async function openAt(base, path = "/", { init } = {}) {
  const page = await browser.context.newPage();
  const errors = [], requests = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/favicon|Failed to load resource/.test(m.text())) errors.push(m.text()); });
  page.on("request", (r) => requests.push(`${r.method()} ${r.url().replace(base, "")}`));
  if (init) await page.addInitScript(init);
  await page.goto(base + path);
  await page.waitForSelector("#library li.tune");
  return { page, errors, requests };
}

const player = (page, expr) => page.evaluate(`(() => { const p = document.getElementById("panel-play").player; return ${expr}; })()`);

/** Waits until the page plays from `source` past `t` seconds of the song. */
async function playsFrom(page, source, t = 0.5, timeout = 30_000) {
  await page.waitForFunction(([s, t]) => {
    const p = document.getElementById("panel-play").player;
    return p.source === s && !p.paused && p.time > t;
  }, [source, t], { timeout });
}

const setSource = (page, source) => page.evaluate((s) => {
  const p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
  localStorage.setItem("sidflow.prefs", JSON.stringify({ ...p, source: s }));
}, source);

const health = async (base) => (await (await fetch(`${base}/api/health`)).json()).renders;

test("by default a tune plays in this browser: the box sends the .sid, renders nothing, and the engine is loaded only then", async () => {
  const { page, errors, requests } = await openAt(BASE);
  await page.waitForTimeout(1500); // what the page loads after its first screen, when idle
  assert.ok(!requests.some((r) => /\/engine\/|\/api\/engine/.test(r)), `engine loaded before the first play: ${requests}`);
  const before = await health(BASE);

  await search(page, "basement", "Basement");
  await page.click("#library li.tune button.name");
  await playsFrom(page, "browser", 1.5);
  assert.equal(await page.getAttribute("#now-badges", "data-source"), "browser");
  assert.match(await page.textContent("#now-badges"), /in this browser/);
  assert.equal(await page.isVisible("#variant"), false, "no audio format to choose");
  const mine = requests.filter((r) => /\/api\/(play|playback|engine|browser-engine)|\/engine\//.test(r));
  assert.ok(mine.includes("POST /api/play"), mine.join("\n"));
  assert.ok(mine.some((r) => /^GET \/api\/playback\/\w+\/sid$/.test(r)), mine.join("\n"));
  assert.ok(mine.includes("GET /api/browser-engine"), mine.join("\n"));
  assert.ok(mine.some((r) => /^GET \/engine\/[0-9a-f]{16}\/sidflow_engine\.wasm$/.test(r)), mine.join("\n"));
  assert.ok(!mine.some((r) => /\/api\/playback\/\w+\/(mp3|flac|wav|voices)/.test(r)), `audio from the box: ${mine.join("\n")}`);

  // Position, seek (keyboard), pause and resume: the engine's.
  const t0 = await player(page, "p.time");
  await page.keyboard.press("ArrowRight");
  await page.waitForFunction((t) => document.getElementById("panel-play").player.time > t + 4, t0, { timeout: 10_000 });
  await page.click("#play-pause");
  await page.waitForFunction(() => document.getElementById("panel-play").player.paused);
  const stopped = await player(page, "p.time");
  await page.waitForTimeout(600);
  assert.ok(Math.abs((await player(page, "p.time")) - stopped) < 0.05, "paused: the position stays");
  await page.click("#play-pause");
  await playsFrom(page, "browser", stopped + 0.3);

  // "See the music" draws the engine's own voices; the box is not asked for a voice track.
  await page.click("#visual-toggle");
  await page.waitForFunction(() => document.getElementById("visual").dataset.mode === "engine");
  await page.waitForFunction(() => /^Voice 1: [A-G]#?\d (pulse|saw|triangle|noise)/.test(document.querySelector("#voices li").textContent)
    || [...document.querySelectorAll("#voices li")].some((l) => /^Voice \d: [A-G]#?\d \w+/.test(l.textContent)), null, { timeout: 10_000 });
  const stats = await player(page, "p.engineStats()");
  console.log(`in-browser engine: ${JSON.stringify(stats)}`);
  assert.ok(stats.playedFrames > stats.sampleRate * 2, JSON.stringify(stats));
  assert.ok(!requests.some((r) => /\/voices$/.test(r)), "no voice track from the box");
  const after = await health(BASE);
  assert.equal(after.started, before.started, "the box started no render");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the listener's SID chip preference is the chip the engine emulates", async () => {
  const { page, errors } = await openAt(BASE);
  for (const chip of ["8580", "6581"]) {
    await page.evaluate((c) => {
      const p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
      localStorage.setItem("sidflow.prefs", JSON.stringify({ ...p, chip: c }));
    }, chip);
    await search(page, "basement", "Basement");
    await page.click("#library li.tune button.name");
    await page.waitForFunction((c) => {
      const p = document.getElementById("panel-play").player;
      return p.source === "browser" && p.track && p.track.variant.chip === c && !p.paused && p.time > 0.3;
    }, chip, { timeout: 30_000 });
    assert.match(await page.textContent("#now-badges"), new RegExp(`SID ${chip}`));
  }
  await page.evaluate(() => {
    const p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
    delete p.chip;
    localStorage.setItem("sidflow.prefs", JSON.stringify(p));
  });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the playback source is a preference: a change takes effect with the next tune, without a reload", async () => {
  const { page, errors } = await openAt(BASE);
  await search(page, "first light", "First Light");
  await page.click("#library li.tune button.name");
  await playsFrom(page, "browser");
  // Preferences › Playback › From the box.
  await page.click("#tab-prefs");
  await page.check("#pref-source-stream");
  await page.click("#tab-play");
  assert.equal(await player(page, "p.source"), "browser", "the song playing goes on where it is");
  await search(page, "trinity", "Trinity");
  await page.click("#library li.tune button.name");
  await playsFrom(page, "stream");
  await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; }, null, { timeout: 30_000 });
  assert.match(await page.textContent("#now-badges"), /from the box/);
  // And back.
  await page.click("#tab-prefs");
  await page.check("#pref-source-browser");
  await page.click("#tab-play");
  await search(page, "sixty hertz", "Sixty Hertz");
  await page.click("#library li.tune button.name");
  await playsFrom(page, "browser");
  assert.equal(await page.evaluate(() => document.getElementById("audio").paused), true, "the stream stopped");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a choice this browser or box cannot honour falls back to the box's stream and says why", async () => {
  const cases = [
    ["browser", /cannot run the SID engine/, { init: () => { delete window.AudioWorkletNode; } }],
    ["browser", /built without the in-browser engine/, { route: ["**/api/browser-engine", { status: 404, contentType: "application/json", body: '{"error":"no engine"}' }] }],
    ["ultimate", /No C64 Ultimate is online/, { route: ["**/api/devices", { status: 200, contentType: "application/json", body: '{"devices":[]}' }] }],
    ["lineout", /no working line-out/, { route: ["**/api/box", { status: 200, contentType: "application/json",
      body: '{"available":false,"state":"idle","volume":80}' }] }],
  ];
  for (const [source, why, { init, route }] of cases) {
    const page = await browser.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    if (route) await page.route(route[0], (r) => r.fulfill(route[1]));
    await page.addInitScript((s) => {
      const p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
      localStorage.setItem("sidflow.prefs", JSON.stringify({ ...p, source: s }));
    }, source);
    if (init) await page.addInitScript(init);
    await page.goto(BASE + "/");
    await page.waitForSelector("#library li.tune");
    await search(page, "basement", "Basement");
    await page.click("#library li.tune button.name");
    await playsFrom(page, "stream", 0.3);
    const note = await page.textContent("#now-source");
    assert.match(note, why, `${source}: ${note}`);
    assert.equal(await page.isVisible("#now-source"), true);
    assert.match(await page.textContent("#toast"), why, "and a toast says it");
    assert.deepEqual(errors, [], source);
    await page.close();
  }
  // Back to the default for what follows.
  const { page } = await openAt(BASE);
  await setSource(page, "browser");
  await page.close();
});

test("tunes played once stay playable when the box cannot be reached", async () => {
  const box = await startDaemon("offline");
  try {
    const { page, errors, requests } = await openAt(box.url);
    // Two tunes played in this browser (kept in IndexedDB), the page reloaded afterwards (so
    // the engine comes from the browser's cache, not from this page's memory).
    await search(page, "basement", "Basement");
    await page.click("#library li.tune button.name");
    await playsFrom(page, "browser", 0.5);
    await search(page, "trinity", "Trinity");
    await page.click("#library li.tune button[aria-label^='Add ']");
    await page.click("#next");
    await page.waitForFunction(() => document.getElementById("now-title").textContent === "Trinity");
    await playsFrom(page, "browser", 0.5);
    await page.goto(`${box.url}/`); // not the tune's link: that would load it at once
    await page.waitForSelector("#queue li .name");
    await page.waitForTimeout(1000);
    assert.equal(await player(page, "p.track"), null, "nothing loaded yet");

    // The box goes away.
    const exit = await box.stop();
    assert.equal(exit.code, 0, `sidflowd stopped cleanly (${JSON.stringify(exit)})`);
    const from = requests.length;
    await page.click("#queue li:first-child button.name");
    await page.waitForFunction(() => document.getElementById("now-title").textContent === "Basement", null, { timeout: 20_000 });
    await playsFrom(page, "browser", 1.5);
    assert.match(await page.textContent("#now-badges"), /in this browser \(offline\)/);
    await page.click("#next");
    await page.waitForFunction(() => document.getElementById("now-title").textContent === "Trinity", null, { timeout: 20_000 });
    await playsFrom(page, "browser", 1);
    const stats = await player(page, "p.engineStats()");
    const asked = requests.slice(from);
    console.log(`offline: ${JSON.stringify(stats)}; asked the (gone) box for: ${asked.join(", ")}`);
    // The engine came from the browser's cache: the box was asked where it is, and the
    // remembered folder was used.
    assert.ok(asked.includes("GET /api/browser-engine"), asked.join("\n"));
    // A tune this browser never played cannot be: the listener is told why.
    await page.evaluate(() => document.getElementById("error").classList.remove("show"));
    await page.click("#library li.tune:has-text('Pulse Code') button.name");
    await page.waitForFunction(() => document.getElementById("error").classList.contains("show"), null, { timeout: 10_000 });
    assert.match(await page.textContent("#error-text"), /not played in this browser before/);
    assert.equal(await page.textContent("#now-title"), "Trinity", "what played goes on");
    assert.deepEqual(errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|NetworkError/.test(e)), []);
    await page.close();
  } finally {
    await box.stop();
  }
});

test("a minute in the browser costs the box under 1 % of that minute in CPU", async () => {
  const box = await startDaemon("cpu");
  try {
    const { page, errors, requests } = await openAt(box.url);
    await page.waitForTimeout(1000);
    // Two tunes, repeated: a minute of music with a change of tune in it.
    await search(page, "basement", "Basement");
    await page.click("#library li.tune button[aria-label^='Add ']");
    await search(page, "silicon dawn", "Silicon Dawn");
    await page.click("#library li.tune button[aria-label^='Add ']");
    await page.click("#repeat"); // Repeat all
    const cpu0 = box.cpu(), from = requests.length;
    const wall0 = Date.now();
    await page.click("#queue li:first-child button.name");
    await playsFrom(page, "browser", 0.1);
    const played0 = (await player(page, "p.engineStats()")).playedFrames;
    await page.waitForFunction((f0) => {
      const s = document.getElementById("panel-play").player.engineStats();
      return s && s.playedFrames - f0 >= 60 * s.sampleRate;
    }, played0, { timeout: 120_000, polling: 500 });
    const cpu = box.cpu() - cpu0;
    const stats = await player(page, "p.engineStats()");
    const audio = (stats.playedFrames - played0) / stats.sampleRate;
    const asked = requests.slice(from).filter((r) => !/\.(js|css|svg|png)$/.test(r));
    console.log(`box CPU while the browser played ${audio.toFixed(1)} s (${((Date.now() - wall0) / 1000).toFixed(1)} s wall): `
      + `${(cpu * 1000).toFixed(0)} ms = ${((100 * cpu) / audio).toFixed(2)} % (underruns ${stats.underruns}); requests: ${asked.join(", ")}`);
    assert.ok(cpu < 0.01 * audio, `the box spent ${cpu} s of CPU on ${audio} s of audio`);
    assert.ok(!asked.some((r) => /\/api\/playback\/\w+\/(mp3|flac|wav|voices)/.test(r)), asked.join("\n"));
    assert.equal((await health(box.url)).started, 0, "no render");
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await box.stop();
  }
});
