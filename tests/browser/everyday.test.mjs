// Everyday use of the listener's page (issue 11, "Broken today"): what broke within minutes
// for a new listener, each case written so that it failed before the fix.
import { test, before, after, afterEach } from "node:test";
import { launch } from "./browser.mjs";
import { open, adminLogin, playing, search, assert } from "./helpers.mjs";

let browser;
// The box's stream (the in-browser engine, the default source, is inbrowser.test.mjs's).
before(async () => { browser = await launch({ source: "stream" }); });
after(async () => { await browser?.close(); });
// A test that failed half-way leaves no page behind (each holds connections to the box).
afterEach(async () => { for (const p of browser.context.pages()) await p.close().catch(() => {}); });

test("six tabs of / and one of /admin all load and act (one event stream for them all)", async () => {
  const streams = new Set();
  const track = (r) => { if (/\/api\/(admin\/)?events$/.test(r.url())) streams.add(r); };
  const done = (r) => streams.delete(r);
  browser.context.on("request", track);
  browser.context.on("requestfinished", done);
  browser.context.on("requestfailed", done);
  const tabs = [];
  try {
    for (let i = 0; i < 6; i++) {
      const { page, errors } = await open(browser, "/");
      await page.waitForSelector("#library li.tune", { timeout: 10_000 });
      tabs.push({ page, errors });
    }
    const admin = await open(browser, "/admin");
    await adminLogin(admin.page);
    await admin.page.waitForSelector("#library li.tune", { timeout: 10_000 });
    // Every tab answers: a search in each, a play and a Like in the last one.
    for (const { page } of tabs) await search(page, "three wishes", "Three Wishes");
    const last = tabs[5].page;
    await last.click("#library li.tune button.name");
    await playing(last, 0.3, 15_000);
    await last.click("#like");
    await last.waitForFunction(() => document.getElementById("toast").textContent.includes("saved"), null, { timeout: 5_000 });
    await admin.page.click("#tab-audit");
    await admin.page.waitForFunction(() => document.querySelectorAll("#audit tr").length > 0, null, { timeout: 5_000 });
    // What the last tab started reaches the others through the one stream.
    await tabs[0].page.waitForFunction(() => document.getElementById("last-played").textContent.includes("Three Wishes"),
      null, { timeout: 10_000 });
    await admin.page.waitForFunction(() => document.getElementById("last-played").textContent.includes("Three Wishes"),
      null, { timeout: 10_000 });
    assert.ok(streams.size <= 1, `${streams.size} event streams open`);
    for (const { errors } of [...tabs, admin]) assert.deepEqual(errors, []);
    await admin.page.close();
  } finally {
    // Every page of this test, also one that never loaded.
    for (const p of browser.context.pages()) await p.close();
    browser.context.off("request", track);
  }
});

const clearQueue = (page) => page.evaluate(() => (document.getElementById("queue-clear")
  || [...document.querySelectorAll("#panel-play button")].find((b) => b.textContent === "Clear")).click());
const queued = (page) => page.$$eval("#queue li:not(.empty) .t", (els) => els.map((e) => e.textContent.trim()));
const setPrefs = (page, p) => page.evaluate((p) => localStorage.setItem("sidflow.prefs", JSON.stringify(p)), p);

test("seeking past what is rendered shows 'rendering… n %', resumes there, and the queue goes on", async () => {
  const { page, errors } = await open(browser, "/");
  // A variant nobody rendered yet (8580, FLAC), then a second tune in the queue.
  await setPrefs(page, { chip: "8580", format: "flac" });
  await page.reload();
  await page.waitForSelector("#library li.tune");
  await clearQueue(page);
  await page.evaluate(() => {
    window.__status = [];
    new MutationObserver(() => window.__status.push(document.getElementById("now-status").textContent))
      .observe(document.getElementById("now-status") || document.body, { childList: true, subtree: true, characterData: true });
  });
  await search(page, "raster rider", "Raster Rider");
  await page.click("#library li.tune button.name");
  await search(page, "sixty hertz", "Sixty Hertz");
  await page.click("#library li.tune button[aria-label^='Add ']");
  await playing(page, 0.2);
  const target = await page.evaluate(() => {
    const s = document.getElementById("seek");
    const t = Number(s.max) - 4;
    s.value = String(t);
    s.dispatchEvent(new Event("change"));
    return t;
  });
  assert.ok(target > 20, `seek bar knows the length (${target})`);
  await page.waitForFunction((t) => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > t + 0.3; },
    target, { timeout: 30_000 });
  const seen = await page.evaluate(() => window.__status);
  assert.ok(seen.some((s) => /^rendering… \d+ %$/.test(s)), `progress shown: ${JSON.stringify(seen)}`);
  // The song ends and the queue moves on.
  await page.waitForFunction(() => document.getElementById("now-title").textContent === "Sixty Hertz", null, { timeout: 20_000 });
  await playing(page, 0.2);
  assert.deepEqual(errors, []);
  await setPrefs(page, {});
  await page.close();
});

test("switching the format mid-song on an uncached tune goes on from the same place", async () => {
  const { page, errors } = await open(browser, "/");
  await setPrefs(page, { format: "mp3" });
  await page.reload();
  await page.waitForSelector("#library li.tune");
  await search(page, "pulse code", "Pulse Code");
  await page.click("#library li.tune button.name");
  await playing(page, 2);
  const before = await page.evaluate(() => document.getElementById("audio").currentTime);
  await page.selectOption("#variant", "wav");
  await page.waitForFunction(() => [...document.querySelectorAll("#now-badges .badge")].some((b) => b.textContent === "WAV"));
  await page.waitForFunction((t) => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > t + 1; },
    before, { timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("Space right after clicking a tune pauses it: no new session, no second copy in the queue", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  await clearQueue(page);
  await search(page, "first light", "First Light");
  await page.click("#library li.tune button.name");
  await playing(page, 0.5);
  const plays = [];
  page.on("request", (r) => { if (r.url().endsWith("/api/play")) plays.push(r.url()); });
  await page.keyboard.press(" ");
  await page.waitForFunction(() => document.getElementById("audio").paused);
  assert.ok(await page.evaluate(() => document.getElementById("audio").currentTime) > 0.4, "not back to 0:00");
  await page.keyboard.press(" ");
  await playing(page, 0.6);
  assert.equal(plays.length, 0, "no new session");
  assert.deepEqual(await queued(page), ["First Light"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("ratings: four stars light four; the listener's own rating comes back; Like toggles", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  await search(page, "illegal tender", "Illegal Tender");
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => !document.getElementById("like").disabled);
  const md5 = await page.evaluate(async () => (await (await fetch("/api/library/search?q=illegal")).json()).tunes[0].md5);
  const likes = () => page.evaluate(async (m) => (await (await fetch(`/api/ratings?md5=${m}&song=1`)).json()).ratings.likes, md5);
  const lit = async () => { await page.mouse.move(0, 0); return page.$$eval("#stars label", (ls) => ls.map((l) => getComputedStyle(l).color)); };
  await page.click("label[for=star-4]");
  await page.waitForFunction(() => document.getElementById("toast").textContent.includes("4 stars"));
  const colours = await lit();
  assert.equal(colours[3], colours[0], "stars 1-4 alike");
  assert.notEqual(colours[4], colours[3], "star 5 is not lit");
  const l0 = await likes();
  await page.click("#like");
  await page.waitForFunction(() => document.getElementById("like").getAttribute("aria-pressed") === "true");
  assert.equal(await likes(), l0 + 1);
  // A reload and the same tune again: the listener's own rating is shown.
  await page.reload();
  await search(page, "illegal tender", "Illegal Tender");
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => document.getElementById("like").getAttribute("aria-pressed") === "true", null, { timeout: 10_000 });
  assert.deepEqual(await lit(), colours);
  // Like again takes it back, on the box too.
  await page.click("#like");
  await page.waitForFunction(() => document.getElementById("like").getAttribute("aria-pressed") === "false");
  assert.equal(await likes(), l0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("queue: a click plays in place, + queues, a refused song is not queued, the queue survives a reload", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  await clearQueue(page);
  await search(page, "basement", "Basement");
  await page.click("#library li.tune button.name");
  await playing(page, 0.2);
  await search(page, "trinity", "Trinity");
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => document.getElementById("now-title").textContent === "Trinity");
  assert.deepEqual(await queued(page), ["Trinity"]);
  await search(page, "silicon dawn", "Silicon Dawn");
  await page.click("#library li.tune button[aria-label^='Add ']");
  assert.deepEqual(await queued(page), ["Trinity", "Silicon Dawn"]);
  // Hardware only, no C64 Ultimate: refused, named as Preferences names it, not queued.
  await setPrefs(page, { mode: "hardware" });
  await search(page, "left and right", "Left and Right");
  await page.click("#library li.tune button.name");
  await page.waitForSelector("#error.show");
  const msg = await page.textContent("#error-text");
  const quoted = /“([^”]+)”|"([^"]+)"/.exec(msg);
  assert.ok(quoted, msg);
  await setPrefs(page, {});
  assert.deepEqual(await queued(page), ["Trinity", "Silicon Dawn"]);
  assert.equal(await page.getAttribute("#queue li:first-child", "aria-current"), "true");
  await page.click("#error-close");
  await page.click("#tab-prefs");
  const labels = (await page.textContent("#panel-prefs")).toLowerCase();
  assert.ok(labels.includes((quoted[1] || quoted[2]).toLowerCase()), `Preferences offer “${quoted[1] || quoted[2]}”`);
  await page.click("#tab-play");
  // A reload keeps the queue and its position; Play goes on with it.
  await page.reload();
  await page.waitForSelector("#library li.tune");
  assert.deepEqual(await queued(page), ["Trinity", "Silicon Dawn"]);
  assert.equal(await page.textContent("#now-title"), "Trinity");
  await page.click("#play-pause");
  await playing(page, 0.2);
  assert.equal(await page.textContent("#now-title"), "Trinity");
  // Radio while paused, with nothing left in the queue: it plays what the box picks.
  await page.click("#next");
  await page.waitForFunction(() => document.getElementById("now-title").textContent === "Silicon Dawn");
  await page.click("#play-pause");
  await page.waitForFunction(() => document.getElementById("audio").paused);
  await page.click("#radio");
  await page.waitForFunction(() => document.querySelectorAll("#queue li:not(.empty)").length === 3, null, { timeout: 10_000 });
  await playing(page, 0.2);
  // A fresh page with an empty queue: Play plays the first tune on screen.
  await clearQueue(page);
  await page.click("#radio");
  await page.evaluate(() => localStorage.removeItem("sidflow.queue"));
  await page.goto(page.url().split("#")[0]);
  await page.waitForSelector("#library li.tune");
  const first = (await page.textContent("#library li.tune .t")).trim();
  await page.click("#play-pause");
  await playing(page, 0.2);
  assert.equal(await page.textContent("#now-title"), first);
  assert.deepEqual(errors, []);
  await page.close();
});

test("playlists: names that make the same id are both kept; replacing and deleting ask first", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  await clearQueue(page);
  await page.locator("#library li.tune button[aria-label^='Add ']").nth(0).click();
  const save = async (name) => { await page.fill("#playlist-name", name); await page.click("#playlist-save"); };
  const lists = () => page.evaluate(async () => (await (await fetch("/api/playlists")).json()).playlists.map((p) => `${p.id}=${p.name}`));
  await save("Road Trip");
  await page.waitForFunction(() => document.getElementById("toast").textContent.includes("Saved: Road Trip"));
  await save("road trip!");
  await page.waitForFunction(() => document.getElementById("toast").textContent.includes("Saved: road trip!"));
  const l = await lists();
  assert.ok(l.includes("road-trip=Road Trip") && l.includes("road-trip-2=road trip!"), JSON.stringify(l));
  // The same name again: asked; Cancel keeps it as it was.
  await save("Road Trip");
  await page.waitForSelector("#confirm[open]");
  await page.click("#confirm-cancel");
  await page.selectOption("#playlists", "road-trip");
  await page.click("#playlist-delete");
  await page.waitForSelector("#confirm[open]");
  assert.match(await page.textContent("#confirm-text"), /Road Trip/);
  await page.click("#confirm-cancel");
  assert.ok((await lists()).includes("road-trip=Road Trip"));
  await page.click("#playlist-delete");
  await page.click("#confirm-ok");
  await page.waitForFunction(() => !document.querySelector("#playlists option[value=road-trip]"));
  assert.ok(!(await lists()).includes("road-trip=Road Trip"));
  assert.deepEqual(errors, []);
  await page.close();
});
