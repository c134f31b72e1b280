// The listener's page and the operator's page on a phone (issue 11): nothing wider than
// the screen from 320 to 430 px, a mini-player that stays in reach, touch targets of at
// least 44 px, and an operator page whose header does not eat the screen.
import { test, before, after, afterEach } from "node:test";
import { launch, BASE } from "./browser.mjs";
import { open, adminLogin, playing, overflow, PHONE, assert } from "./helpers.mjs";

let browser;
// The box's stream (the in-browser engine, the default source, is inbrowser.test.mjs's).
before(async () => { browser = await launch({ source: "stream" }); });
after(async () => { await browser?.close(); });
// A test that failed half-way leaves no page behind (each holds connections to the box).
afterEach(async () => { for (const p of browser.context.pages()) await p.close().catch(() => {}); });

const WIDTHS = [320, 360, 390, 414, 430];

// Visible controls smaller than 44x44 px (a radio or checkbox counts by its label).
const smallTargets = (page) => page.evaluate(() => {
  const out = [];
  const seen = new Set();
  for (const e of document.querySelectorAll("button, a[href], select, input, summary")) {
    let t = e;
    if (e.matches("input[type=radio], input[type=checkbox]")) t = e.labels && e.labels[0];
    if (!t || seen.has(t)) continue;
    seen.add(t);
    if (t.closest("[hidden], dialog:not([open]), .sr") || (t.classList.contains("sr") && document.activeElement !== t)) continue;
    const r = t.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.width < 43.5 || r.height < 43.5) out.push(`${t.tagName.toLowerCase()}#${t.id || ""}.${t.className || ""} "${(t.textContent || t.getAttribute("aria-label") || "").trim().slice(0, 20)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
});

test("phone: no sideways scrolling at 320-430 px on / (playing, preferences) and every /admin tab", async () => {
  const { page, errors } = await open(browser, "/", PHONE);
  await page.waitForSelector("#library li.tune");
  await page.click("#library li.tune button.name");
  await playing(page);
  const admin = await open(browser, "/admin", PHONE);
  await adminLogin(admin.page);
  const report = [];
  for (const w of WIDTHS) {
    for (const p of [page, admin.page]) await p.setViewportSize({ width: w, height: 844 });
    for (const tab of ["play", "prefs"]) {
      await page.click(`#tab-${tab}`);
      report.push([w, `/ ${tab}`, await overflow(page)]);
    }
    for (const tab of ["play", "prefs", "jobs", "devices", "cache", "settings", "status", "audit"]) {
      await admin.page.click(`#tab-${tab}`);
      await admin.page.waitForTimeout(50);
      report.push([w, `/admin ${tab}`, await overflow(admin.page)]);
    }
  }
  const wide = report.filter(([, , o]) => o > 0);
  assert.deepEqual(wide, [], `wider than the screen: ${JSON.stringify(wide)}`);
  // The operator's header stays small (the tabs scroll sideways inside it).
  await admin.page.setViewportSize(PHONE);
  const h = await admin.page.evaluate(() => document.querySelector("header.top").getBoundingClientRect().height);
  assert.ok(h <= 120, `admin header ${h} px`);
  assert.deepEqual([...errors, ...admin.errors], []);
  await page.close();
  await admin.page.close();
});

test("phone: after tapping a tune the mini-player is on screen: title, play/pause, next, progress", async () => {
  const { page, errors } = await open(browser, "/", PHONE);
  await page.waitForSelector("#library li.tune");
  const first = (await page.textContent("#library li.tune .t")).trim();
  await page.click("#library li.tune button.name");
  await playing(page, 0.5);
  const box = await page.evaluate(() => {
    const m = document.getElementById("mini");
    const r = m.getBoundingClientRect();
    return { hidden: m.hidden, top: r.top, bottom: r.bottom, title: document.getElementById("mini-title").textContent,
      bar: document.getElementById("mini-progress").style.width };
  });
  assert.equal(box.hidden, false);
  assert.ok(box.top >= 0 && box.bottom <= 844 + 0.5, JSON.stringify(box));
  assert.ok(box.title.startsWith(first), JSON.stringify(box));
  await page.waitForFunction(() => parseFloat(document.getElementById("mini-progress").style.width) > 0);
  await page.click("#mini-play");
  await page.waitForFunction(() => document.getElementById("audio").paused);
  // The button follows the element's "pause" event, which the browser dispatches in a task
  // after `paused` turns true: wait for it rather than read it at once.
  await page.waitForFunction(() => document.getElementById("mini-play").getAttribute("aria-label") === "Play",
    null, { timeout: 5_000 });
  await page.click("#mini-play");
  await playing(page, 0.6);
  assert.deepEqual(errors, []);
  await page.close();
});

test("phone: every control is at least 44x44 px on / and /admin", async () => {
  const { page, errors } = await open(browser, "/", PHONE);
  await page.waitForSelector("#library li.tune");
  await page.click("#library li.tune button.name");
  await playing(page);
  const small = [];
  for (const tab of ["play", "prefs"]) { await page.click(`#tab-${tab}`); small.push(...(await smallTargets(page)).map((s) => `/ ${tab}: ${s}`)); }
  const admin = await open(browser, "/admin", PHONE);
  await adminLogin(admin.page);
  for (const tab of ["jobs", "devices", "cache", "settings", "audit"]) {
    await admin.page.click(`#tab-${tab}`);
    await admin.page.waitForTimeout(100);
    small.push(...(await smallTargets(admin.page)).map((s) => `/admin ${tab}: ${s}`));
  }
  assert.deepEqual(small, []);
  assert.deepEqual([...errors, ...admin.errors], []);
  await page.close();
  await admin.page.close();
});

test("the first screen of / is under 40 KB transferred", async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize(PHONE);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send("Network.enable");
  // A first visit: nothing cached. What the page asked for until its play controls, the
  // library and the preferences were there (what it loads later, when idle or on use,
  // does not count), as the browser's Resource Timing counts it (headers and body).
  await cdp.send("Network.clearBrowserCache");
  const wire = new Map(); // bytes on the wire per URL (headers and encoded body), from the DevTools protocol
  const ids = new Map();
  cdp.on("Network.requestWillBeSent", (e) => ids.set(e.requestId, e.request.url.replace(BASE, "")));
  cdp.on("Network.loadingFinished", (e) => { const u = ids.get(e.requestId); if (u && !wire.has(u)) wire.set(u, e.encodedDataLength); });
  await page.addInitScript(() => {
    new MutationObserver(() => {
      if (!window.__usable && document.querySelector("#library li.tune") && document.getElementById("tab-prefs")) window.__usable = performance.now();
    }).observe(document, { subtree: true, childList: true });
  });
  await page.goto(BASE + "/");
  await page.waitForSelector("#library li.tune");
  await page.waitForTimeout(1000);
  const r = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource").filter((e) => e.startTime <= window.__usable && !/\/api\/(events|playback)/.test(e.name));
    return { total: nav.transferSize + res.reduce((a, e) => a + e.transferSize, 0),
      files: [["/", nav.transferSize], ...res.map((e) => [e.name.replace(location.origin, ""), e.transferSize])] };
  });
  const files = r.files.map(([u]) => [u, wire.get(u)]);
  const total = files.reduce((a, [, n]) => a + (n || 0), 0);
  assert.ok(files.every(([, n]) => n > 0), JSON.stringify(files));
  assert.ok(total < 40 * 1024, `${total} bytes: ${JSON.stringify(files)}`);
  assert.ok(!r.files.some(([u]) => /visual\.js/.test(u)), "the visual view is not part of it");
  console.log(`first screen of /: ${total} bytes in ${files.length} responses (Resource Timing: ${r.total})`);
  await page.close();
});
