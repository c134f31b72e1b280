// Engines and levelling in the listener's page (issue 13): "Level tunes out" (on by default)
// plays every song at the gain its measured loudness asks for, through the page's Web Audio
// graph; the sound after the gain is measured with an AnalyserNode against the sound before
// it, and the two songs' levels (ffmpeg's EBU R128 on the box's cached files + the gain the
// page applies) end within 1 LU. The Engine preference picks sidplayfp.
import { test, before, after, afterEach } from "node:test";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { launch } from "./browser.mjs";
import { open, playing, search, assert } from "./helpers.mjs";

let browser;
// The box's stream (the in-browser engine, the default source, is inbrowser.test.mjs's).
before(async () => { browser = await launch({ source: "stream" }); });
after(async () => { await browser?.close(); });
afterEach(async () => { for (const p of browser.context.pages()) await p.close().catch(() => {}); });

const setPrefs = (page, p) => page.evaluate((p) => localStorage.setItem("sidflow.prefs", JSON.stringify(p)), p);

/** ffmpeg's integrated loudness (LUFS) of a file, mono counted as dual mono like the box. */
function ffmpegLufs(path) {
  const r = spawnSync("ffmpeg", ["-nostats", "-hide_banner", "-i", path, "-af", "ebur128=dualmono=true", "-f", "null", "-"],
    { encoding: "utf8" });
  const m = /Summary:[\s\S]*?I:\s+(-?[\d.]+) LUFS/.exec(r.stderr || "");
  assert.ok(m, `ffmpeg: ${(r.stderr || String(r.error)).slice(-500)}`);
  return Number(m[1]);
}

/** Plays a demo tune in the page; resolves when its final level is applied. */
async function playTune(page, words, title) {
  await search(page, words, title);
  await page.click("#library li.tune button.name");
  await playing(page, 0.5);
  await page.waitForFunction((t) => document.getElementById("now-title").textContent === t, title);
}

/** The gain in force (dB) and the RMS (dBFS) before and after it over ~1.5 s of audio. */
async function measure(page) {
  return page.evaluate(async () => {
    const audio = document.getElementById("audio");
    const { levelGraph } = await import("/js/play/level.js");
    const g = levelGraph(audio);
    const tap = (node) => { const a = g.ctx.createAnalyser(); a.fftSize = 2048; node.connect(a); return a; };
    const pre = tap(g.source), post = tap(g.gain);
    const buf = new Float32Array(2048);
    let e0 = 0, e1 = 0;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pre.getFloatTimeDomainData(buf); for (const x of buf) e0 += x * x;
      post.getFloatTimeDomainData(buf); for (const x of buf) e1 += x * x;
    }
    g.source.disconnect(pre); g.gain.disconnect(post);
    return { levelDb: Number(audio.dataset.levelDb), gain: 20 * Math.log10(g.gain.gain.value), ctx: g.ctx.state,
      appliedDb: 10 * Math.log10(e1 / e0) };
  });
}

const cached = (name) => {
  const dir = `${process.env.SIDFLOW_DATA}/cache`;
  const f = readdirSync(dir).find((x) => x.startsWith(`${name}-sidflow-6581.`) && x.endsWith(".mp3"));
  assert.ok(f, `${name} is cached: ${readdirSync(dir).join(", ")}`);
  return `${dir}/${f}`;
};

test("level tunes out: two songs of different loudness play within 1 LU, measured after the page's gain", async () => {
  const { page, errors } = await open(browser, "/");
  await setPrefs(page, { source: "stream" });
  // Both songs rendered (and measured) once, as a radio's would be after their first play.
  for (const path of ["first-light.sid", "trinity.sid"]) {
    await page.evaluate(async (path) => {
      const s = await (await fetch("/api/play", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ path, prefs: { format: "mp3" } }) })).json();
      await (await fetch(s.urls.audio)).arrayBuffer();
    }, path);
  }
  const seen = [];
  for (const [words, title, file] of [["first light", "First Light", "first-light"], ["trinity", "Trinity", "trinity"]]) {
    await playTune(page, words, title);
    // The final level: from the session (cached) or the render's "done" event.
    const state = () => page.evaluate(async () => {
      const { levelGraph } = await import("/js/play/level.js");
      const g = levelGraph(document.getElementById("audio"));
      return { gain: g && 20 * Math.log10(g.gain.gain.value), levelDb: Number(document.getElementById("audio").dataset.levelDb),
        ctx: g && g.ctx.state, t: g && g.ctx.currentTime };
    });
    await page.waitForFunction(async () => {
      const { levelGraph } = await import("/js/play/level.js");
      const g = levelGraph(document.getElementById("audio"));
      return g && Math.abs(20 * Math.log10(g.gain.gain.value) - Number(document.getElementById("audio").dataset.levelDb)) < 0.05;
    }, null, { timeout: 30_000 }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await state())}`); });
    const m = await measure(page);
    assert.equal(m.ctx, "running");
    assert.ok(Math.abs(m.gain - m.levelDb) < 0.05, JSON.stringify(m));
    // The sound really is scaled by it (an AnalyserNode before and after the gain).
    assert.ok(Math.abs(m.appliedDb - m.gain) < 0.5, JSON.stringify(m));
    const session = await page.evaluate(async (path) => (await (await fetch("/api/play", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path, prefs: { format: "mp3" } }) })).json()), `${file}.sid`);
    assert.ok(session.level, JSON.stringify(session));
    assert.ok(Math.abs(session.level.gain_db - m.levelDb) < 0.05, `${m.levelDb} vs ${JSON.stringify(session.level)}`);
    seen.push({ title, raw: ffmpegLufs(cached(file)), gain: m.gain });
  }
  console.log(`# levels: ${JSON.stringify(seen)}`);
  const [a, b] = seen;
  assert.ok(Math.abs(a.raw - b.raw) > 3, `the songs differ: ${JSON.stringify(seen)}`);
  assert.ok(Math.abs(a.raw + a.gain - (b.raw + b.gain)) < 1, `levelled within 1 LU: ${JSON.stringify(seen)}`);
  // A song never played before: levelled while it renders (the render events' level), and
  // at the whole render's measurement once it is done.
  await playTune(page, "pulse code", "Pulse Code");
  await page.waitForFunction(async () => {
    const s = await (await fetch("/api/play", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path: "pulse-code.sid", prefs: { format: "mp3" } }) })).json();
    return s.level && Math.abs(Number(document.getElementById("audio").dataset.levelDb) - s.level.gain_db) < 0.05;
  }, null, { timeout: 30_000, polling: 500 });
  // Off: every song as loud as it was rendered (0 dB), applied at once.
  await page.click("#tab-prefs");
  await page.click("#pref-level-off");
  await page.click("#tab-play");
  await page.waitForFunction(() => document.getElementById("audio").dataset.levelDb === "0.00");
  assert.deepEqual(errors, []);
});

test("the Engine preference: sidplayfp renders the song, the badge says so; the box's choice is shown", async () => {
  const { page, errors } = await open(browser, "/");
  await setPrefs(page, { source: "stream" });
  await page.click("#tab-prefs");
  await page.waitForFunction(() => /The box renders with sidflow/.test(document.getElementById("engine-note")?.textContent || ""));
  const disabled = await page.isDisabled("#pref-engine-sidplayfp");
  assert.equal(disabled, false, "Debian's sidplayfp is installed (./dev.sh deps)");
  await page.click("#pref-engine-sidplayfp");
  await page.click("#tab-play");
  await playTune(page, "sixty hertz", "Sixty Hertz");
  await page.waitForFunction(() => [...document.querySelectorAll("#now-badges .badge")].some((b) => b.textContent === "sidplayfp"));
  assert.deepEqual(errors, []);
});
