// The web UI in headless Chromium against a real sidflowd (started by run.sh with a fresh
// state folder and the built-in demo library).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launch, BASE } from "./browser.mjs";

let browser;
// The box's stream (the in-browser engine, the default source, is inbrowser.test.mjs's).
before(async () => { browser = await launch({ source: "stream" }); });
after(async () => { await browser?.close(); });

async function open(path) {
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/favicon|Failed to load resource/.test(m.text())) errors.push(m.text()); });
  await page.goto(BASE + path);
  return { page, errors };
}

test("search, play with time advancing, rate, keyboard", async () => {
  const { page, errors } = await open("/");
  await page.waitForSelector("#library li.tune");
  // The listener's page shows nothing administrative.
  const text = (await page.textContent("body")).toLowerCase();
  for (const w of ["admin", "login", "password", "operator", "audit"]) assert.ok(!text.includes(w), `page says ${w}`);

  // Search.
  const first = await page.textContent("#library li.tune .t");
  const word = first.trim().split(/\s+/)[0];
  await page.fill("#search", word.toLowerCase());
  await page.waitForFunction((w) => document.querySelector("#library li.tune .t")?.textContent.includes(w)
    && document.querySelector(".crumbs")?.textContent.includes("result"), word);
  await page.fill("#search", "zzzz-no-such-tune");
  await page.waitForSelector("#library li.empty");
  await page.fill("#search", word.toLowerCase());
  await page.waitForSelector("#library li.tune");

  // Play with the keyboard alone: focus the first tune's play button, press Enter.
  await page.focus("#library li.tune button.name");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => {
    const a = document.getElementById("audio");
    return a && !a.paused && a.currentTime > 0.5;
  }, null, { timeout: 30_000 });
  assert.equal((await page.textContent("#now-title")).trim(), first.trim());
  // What the demo library's STIL says about it.
  await page.waitForFunction(() => document.getElementById("now-stil").textContent.includes("Comment:"));
  const t1 = await page.evaluate(() => document.getElementById("audio").currentTime);
  await page.waitForTimeout(1200);
  const t2 = await page.evaluate(() => document.getElementById("audio").currentTime);
  assert.ok(t2 > t1 + 0.5, `time advances (${t1} -> ${t2})`);
  assert.match(await page.textContent("#time"), /^0:0\d \/ \d+:\d\d$/);
  assert.equal(await page.getAttribute("#play-pause", "aria-label"), "Pause");

  // Space pauses (focus outside inputs), Space plays again.
  await page.focus("#now-title").catch(() => {});
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press(" ");
  await page.waitForFunction(() => document.getElementById("audio").paused);
  await page.keyboard.press(" ");
  await page.waitForFunction(() => !document.getElementById("audio").paused);

  // Rate: like and 4 stars; the server has them.
  await page.click("#like");
  await page.waitForFunction(() => document.getElementById("like").getAttribute("aria-pressed") === "true");
  await page.click("label[for=star-4]");
  await page.waitForFunction(() => document.getElementById("toast").textContent.includes("4 stars"));
  const md5 = await page.evaluate(async (p) => {
    const r = await fetch(`/api/library/search?q=${encodeURIComponent(p)}`);
    return (await r.json()).tunes[0].md5;
  }, word.toLowerCase());
  const ratings = await page.evaluate(async (m) => (await (await fetch(`/api/ratings?md5=${m}&song=1`)).json()).ratings, md5);
  assert.ok(ratings.likes >= 1 && ratings.stars_count >= 1, JSON.stringify(ratings));
  assert.deepEqual(errors, []);
  await page.close();
});

test("a preference is applied at once and before first paint after a reload", async () => {
  const { page, errors } = await open("/");
  await page.click("#tab-prefs");
  await page.check("#pref-theme-c64");
  assert.equal(await page.getAttribute("html", "data-theme"), "c64");
  await page.check("#pref-format-flac");
  // Reload: the theme is on <html> before any module script has run.
  await page.addInitScript(() => {
    document.addEventListener("readystatechange", () => {
      if (document.readyState === "interactive") window.__themeAtInteractive = document.documentElement.dataset.theme;
    });
  });
  await page.reload();
  assert.equal(await page.evaluate(() => window.__themeAtInteractive), "c64");
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, "rgb(53, 40, 121)", "C64 blue background");
  // The format preference picks the variant of the next play.
  await page.waitForSelector("#library li.tune");
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => [...document.querySelectorAll("#now-badges .badge")].some((b) => b.textContent === "FLAC"));
  await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; }, null, { timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("radio: plays a song the box picks, only well-rated ones when asked", async () => {
  const { page, errors } = await open("/");
  await page.waitForSelector("#library li.tune");
  // The queue is kept in the browser: start from an empty one.
  await page.click("#queue-clear");
  // A song liked here (others may have been liked by earlier tests).
  const liked = await page.evaluate(async () => {
    const t = (await (await fetch("/api/library/search?q=sixty")).json()).tunes[0];
    await fetch("/api/rate", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ md5: t.md5, song: 1, action: "like" }) });
    const r = await (await fetch("/api/radio?n=50&quality=liked")).json();
    return r.picks.map((p) => p.tune.title);
  });
  assert.ok(liked.length >= 1, JSON.stringify(liked));
  await page.click("#tab-prefs");
  await page.check("#pref-radio-liked");
  await page.click("#tab-play");
  await page.click("#radio");
  assert.equal(await page.getAttribute("#radio", "aria-pressed"), "true");
  await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; }, null, { timeout: 30_000 });
  const title = (await page.textContent("#now-title")).trim();
  assert.ok(liked.includes(title), `${title} is one of ${JSON.stringify(liked)}`);
  assert.equal(await page.locator("#queue li[aria-current=true]").count(), 1);
  // Next (the queue has run out): the radio picks again.
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.querySelectorAll("#queue li:not(.empty)").length === 2, null, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("playlists: save the queue, clear it, load it back and play", async () => {
  const { page, errors } = await open("/");
  await page.waitForSelector("#library li.tune");
  // The queue is kept in the browser: start from an empty one.
  await page.click("#queue-clear");
  const adds = page.locator("#library li.tune button[aria-label^='Add ']");
  await adds.nth(0).click();
  await adds.nth(1).click();
  await page.waitForFunction(() => document.querySelectorAll("#queue li:not(.empty)").length === 2);
  const queued = await page.$$eval("#queue li:not(.empty) .t", (els) => els.map((e) => e.textContent.trim()));
  await page.fill("#playlist-name", "Evening Mix");
  await page.click("#playlist-save");
  await page.waitForFunction(() => document.getElementById("toast").textContent.includes("Saved: Evening Mix"));
  await page.waitForSelector("#playlists option[value=evening-mix]", { state: "attached" });
  await page.click("text=Clear");
  await page.waitForSelector("#queue li.empty");
  await page.selectOption("#playlists", "evening-mix");
  await page.click("#playlist-load");
  await page.waitForFunction(() => document.querySelectorAll("#queue li:not(.empty)").length === 2);
  assert.deepEqual(await page.$$eval("#queue li:not(.empty) .t", (els) => els.map((e) => e.textContent.trim())), queued);
  await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; }, null, { timeout: 30_000 });
  // Another browser sees it too (it is kept on the box).
  const names = await page.evaluate(async () => (await (await fetch("/api/playlists")).json()).playlists.map((p) => p.name));
  assert.ok(names.includes("Evening Mix"), JSON.stringify(names));
  await page.click("#playlist-delete");
  await page.click("#confirm-ok");
  await page.waitForFunction(() => !document.querySelector("#playlists option[value=evening-mix]"));
  assert.deepEqual(errors, []);
  await page.close();
});

test("operator: first-run password, login, render job progress to completion", async () => {
  const { page, errors } = await open("/admin");
  await page.waitForSelector("#login-form");
  const first = (await page.textContent("#login-form h2")).includes("Choose");
  if (first) {
    // A fresh box asks for its setup code: a wrong one is refused with where to find it.
    await page.fill("#setup-code", "AAAA-AAAA");
    await page.fill("#password", "browser-test-pw");
    await page.click("#login-submit");
    await page.waitForFunction(() => /setup code/.test(document.querySelector("#login-msg").textContent));
    await page.fill("#setup-code", readFileSync(`${process.env.SIDFLOW_DATA}/setup-code`, "utf8").trim());
  }
  await page.fill("#password", "browser-test-pw");
  await page.click("#login-submit");
  await page.waitForSelector("#tab-jobs");
  // The same Play component is there too.
  await page.waitForSelector("#library li.tune");
  await page.click("#tab-jobs");
  await page.waitForSelector("#job-folder option", { state: "attached" });
  await page.uncheck("#job-fmt-flac");
  await page.check("#job-start-only");
  await page.click("#job-start");
  await page.waitForSelector("#jobs li[data-status]");
  // Progress arrives (server-sent events and polling) until the job completes.
  const seen = new Set();
  const t0 = Date.now();
  for (;;) {
    const s = await page.getAttribute("#jobs li[data-status]", "data-status");
    seen.add(await page.textContent("#jobs li[data-status] .job-count"));
    if (s === "completed") break;
    assert.ok(["pending", "running"].includes(s), `job status ${s}`);
    assert.ok(Date.now() - t0 < 240_000, "job finishes");
    await page.waitForTimeout(200);
  }
  const count = await page.textContent("#jobs li[data-status] .job-count");
  const [done, total] = count.split("/").map((x) => parseInt(x, 10));
  assert.equal(done, total);
  assert.ok(seen.size >= 2, `progress was shown: ${[...seen]}`);
  assert.equal(await page.getAttribute("#jobs li[data-status] [role=progressbar]", "aria-valuenow"), "100");
  // The audit log panel lists the job start.
  await page.click("#tab-audit");
  await page.waitForFunction(() => document.getElementById("audit").textContent.includes("start render job"));
  // Backup: download the file, then restore it through the file picker.
  await page.click("#tab-settings");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#backup-download")]);
  assert.match(download.suggestedFilename(), /^sidflow-backup-\d{4}-\d\d-\d\d\.json$/);
  const file = await download.path();
  const backup = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(backup.format, "sidflow-backup");
  await page.setInputFiles("#restore-file", file);
  await page.click("#restore");
  await page.click("#confirm-ok");
  await page.waitForFunction(() => /Restored \d+ ratings and \d+ playlists/.test(document.getElementById("toast").textContent));
  assert.ok(first, "a fresh box asks to choose the password");
  assert.deepEqual(errors, []);
  await page.close();
});

test("output choice: play on the box's line-out, pause, volume, back to the browser", async () => {
  const { page, errors } = await open("/");
  const box = () => page.evaluate(async () => (await fetch("/api/box")).json());
  const until = async (what, ok) => {
    const t0 = Date.now();
    for (;;) {
      const s = await box();
      if (ok(s)) return s;
      assert.ok(Date.now() - t0 < 15_000, `${what}: ${JSON.stringify(s)}`);
      await page.waitForTimeout(100);
    }
  };
  assert.equal((await box()).available, true, "run.sh gives the daemon a null line-out");
  await page.waitForSelector("#library li.tune");
  // The choice appears because the box has a line-out; choose it with the keyboard.
  await page.waitForSelector("#output-browser", { state: "visible" });
  assert.equal(await page.isChecked("#output-browser"), true);
  await page.focus("#output-browser");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.isChecked("#output-box"), true);
  await page.waitForSelector("#box-controls", { state: "visible" });
  assert.equal(await page.isDisabled("#seek"), true, "no seeking on the box");

  // Play a tune: the box plays it, the browser does not.
  const first = (await page.textContent("#library li.tune .t")).trim();
  await page.click("#library li.tune button.name");
  const s = await until("playing on the box", (s) => s.state === "playing" && s.frames_played > 0);
  assert.equal(s.track.title, first);
  await page.waitForFunction((t) => document.getElementById("now-title").textContent.trim() === t, first);
  assert.equal(await page.evaluate(() => document.getElementById("audio").paused), true);
  await page.waitForFunction(() => document.getElementById("box-info").textContent.includes("playing"));
  await page.waitForFunction(() => document.getElementById("play-pause").getAttribute("aria-label") === "Pause");

  // The transport button pauses and resumes the box.
  await page.click("#play-pause");
  await until("paused", (s) => s.state === "paused");
  await page.waitForFunction(() => document.getElementById("play-pause").getAttribute("aria-label") === "Play");
  await page.click("#play-pause");
  await until("resumed", (s) => s.state === "playing");

  // Volume with the keyboard.
  const v0 = (await box()).volume;
  await page.focus("#box-volume");
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  await until("volume", (s) => s.volume === v0 - 2);

  // Stop, then back to this browser.
  await page.click("#box-stop");
  await until("stopped", (s) => s.state === "idle");
  await page.check("#output-browser");
  await page.waitForSelector("#box-controls", { state: "hidden" });
  assert.equal(await page.isDisabled("#seek"), false);
  assert.deepEqual(errors, []);
  await page.close();
});

test("'every song of a tune': when a song ends, the tune's next song plays", async () => {
  const { page, errors } = await open("/");
  await page.waitForSelector("#library li.tune");
  await page.click("#tab-prefs");
  await page.check("#pref-subtunes-all");
  await page.check("#pref-format-mp3");
  await page.click("#tab-play");
  // Render song 1 once, so the next play is the cached file (seekable to its end).
  await page.evaluate(async () => {
    const r = await fetch("/api/play", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path: "three-wishes.sid", song: 1, prefs: { format: "mp3" } }) });
    await (await fetch((await r.json()).urls.audio)).arrayBuffer();
  });
  await page.fill("#search", "three wishes");
  await page.waitForFunction(() => document.querySelector("#library li.tune .t")?.textContent.includes("Three Wishes"));
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => { const a = document.getElementById("audio");
    return !a.paused && a.seekable.length && a.seekable.end(0) > 20; }, null, { timeout: 30_000 });
  assert.equal(await page.textContent("#songs [aria-pressed=true]"), "1");
  await page.evaluate(() => { const a = document.getElementById("audio"); a.currentTime = a.seekable.end(0) - 0.3; });
  await page.waitForFunction(() => document.querySelector("#songs [aria-pressed=true]")?.textContent === "2", null, { timeout: 15_000 });
  await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.2; }, null, { timeout: 30_000 });
  assert.equal((await page.textContent("#now-title")).trim(), "Three Wishes");
  // The STIL names the song that plays now.
  await page.waitForFunction(() => document.getElementById("now-stil").textContent.includes("Wish Two"));
  assert.deepEqual(errors, []);
  await page.close();
});
