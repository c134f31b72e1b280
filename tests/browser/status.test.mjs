// The operator's Status tab (issue 17): the box's health at a glance, kept current by the
// operator's event stream (no polling), readable on a phone.
import { test, before, after, afterEach } from "node:test";
import { launch } from "./browser.mjs";
import { open, adminLogin, playing, overflow, PHONE, assert } from "./helpers.mjs";

let browser;
before(async () => { browser = await launch({ source: "stream" }); });
after(async () => { await browser?.close(); });
afterEach(async () => { for (const p of browser.context.pages()) await p.close().catch(() => {}); });

test("Status tab: machine, readiness, line-out, cache coverage, warnings, charts; live over the event stream", async () => {
  const admin = await open(browser, "/admin");
  const overviews = [];
  admin.page.on("request", (r) => { if (r.url().endsWith("/api/admin/overview")) overviews.push(Date.now()); });
  await adminLogin(admin.page);
  await admin.page.click("#tab-status");
  await admin.page.waitForSelector("#status-ready li[data-check]");
  const text = (sel) => admin.page.textContent(sel);
  assert.match(await text("#status-memory"), /\d+ % of \d/);
  assert.match(await text("#status-disk"), /% used/);
  assert.match(await text("#status-uptime"), /min|h|d/);
  // Readiness: every check is listed; this box (ALSA file plugin as its line-out) is ready.
  const checks = await admin.page.$$eval("#status-ready li", (ls) => ls.map((l) => [l.dataset.check, l.dataset.ok]));
  assert.deepEqual(checks, [["database", "true"], ["library", "true"], ["cache", "true"], ["lineout", "true"]]);
  assert.match(await text("#status-lineout-state"), /idle|playing|paused/);
  // Cache coverage per format, against the library's songs.
  assert.equal(await admin.page.$$eval("#status-cache tr", (r) => r.length), 3);
  assert.match(await text("#status-library"), /\d+ tunes, \d+ songs/);
  // The fresh box warned that no operator password was set: the warning is listed.
  await admin.page.waitForSelector("#status-logs li.log.warn");
  // Charts of the last hour: the first sample is there (memory needs no earlier sample).
  assert.ok(Number(await admin.page.getAttribute("#chart-memory svg", "data-points")) >= 1);

  // A listener starts playing: the tab shows it without a reload or a poll.
  const listener = await open(browser, "/");
  await listener.page.waitForSelector("#library li.tune");
  await listener.page.click("#library li.tune button.name");
  await playing(listener.page);
  await admin.page.waitForFunction(() => Number(document.getElementById("status-listeners")?.textContent) >= 1,
    null, { timeout: 15_000 });
  assert.equal(overviews.length, 1, "loaded once, then kept current by events");
  // The CPU figure is measured between two readings of the box (the first status event).
  assert.match(await text("#status-cpu"), /^\d+ %$/);
  assert.deepEqual([...admin.errors, ...listener.errors], []);

  // A listener's browser hits a decode error: it is reported, and the tab counts it.
  await listener.page.evaluate(() => {
    const a = new Audio("data:audio/mpeg;base64,AAAAAAAAAAAAAAAA");
    document.body.append(a);
    a.play().catch(() => {});
  });
  await listener.page.waitForTimeout(500);
  await listener.page.evaluate(() => dispatchEvent(new Event("pagehide")));
  await admin.page.waitForFunction(() => /decode error/.test(document.getElementById("status-problems")?.textContent),
    null, { timeout: 15_000 });

  // Readable on a phone: nothing wider than the screen.
  await admin.page.setViewportSize(PHONE);
  await admin.page.waitForTimeout(100);
  assert.ok(await overflow(admin.page) <= 0, "no sideways scrolling at 390 px");
});
