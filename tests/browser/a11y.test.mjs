// Accessibility (issue 11): axe-core finds no serious or critical violation on / and /admin
// in any theme, and the specific faults found by hand stay fixed: a skip link that shows
// when focused, an <h1>, a seek slider read as "0:12 of 3:10", arrow keys on a focused tab
// that only switch tabs. axe-core comes from npm (tests/browser/package-lock.json) and is
// evaluated in the page through the DevTools protocol; nothing of it ships in the page.
import { test, before, after, afterEach } from "node:test";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { launch } from "./browser.mjs";
import { open, adminLogin, playing, DESKTOP, PHONE, assert } from "./helpers.mjs";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const THEMES = ["dark", "light", "c64"];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });
// A test that failed half-way leaves no page behind (each holds connections to the box).
afterEach(async () => { for (const p of browser.context.pages()) await p.close().catch(() => {}); });

/** Serious and critical violations on the page as it is now. */
async function axe(page, where) {
  await page.evaluate(`${AXE};0`);
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ["violations"] });
    return res.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}${v.nodes.length > 3 ? ` +${v.nodes.length - 3}` : ""}`);
  });
  return r.map((x) => `${where}: ${x}`);
}

const theme = (page, t) => page.evaluate((t) => {
  const p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
  localStorage.setItem("sidflow.prefs", JSON.stringify({ ...p, theme: t }));
}, t);

test("axe: no serious or critical violations on / and /admin, every theme, desktop and phone", async () => {
  const found = [];
  for (const size of [DESKTOP, PHONE]) {
    const { page, errors } = await open(browser, "/", size);
    const admin = await open(browser, "/admin", size);
    await adminLogin(admin.page);
    for (const t of THEMES) {
      await theme(page, t);
      await page.reload();
      await page.waitForSelector("#library li.tune");
      await page.click("#library li.tune button.name");
      await playing(page);
      found.push(...await axe(page, `/ ${t} ${size.width} play`));
      await page.click("#tab-prefs");
      found.push(...await axe(page, `/ ${t} ${size.width} prefs`));
      await page.click("#tab-play");
      await admin.page.reload();
      await admin.page.waitForSelector("#tab-jobs");
      for (const tab of ["jobs", "devices", "cache", "settings", "status", "audit"]) {
        await admin.page.click(`#tab-${tab}`);
        await admin.page.waitForTimeout(150);
        found.push(...await axe(admin.page, `/admin ${t} ${size.width} ${tab}`));
      }
    }
    await theme(page, "system");
    assert.deepEqual([...errors, ...admin.errors], []);
    await page.close();
    await admin.page.close();
  }
  assert.deepEqual(found, []);
});

test("keyboard and screen readers: skip link, h1, seek slider text, arrow keys on tabs", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  assert.equal(await page.locator("h1").count(), 1);
  // The first Tab shows the skip link.
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => { const a = document.activeElement; const r = a.getBoundingClientRect();
    return { text: a.textContent, w: r.width, h: r.height }; });
  assert.equal(skip.text, "Skip to content");
  assert.ok(skip.w > 40 && skip.h > 10, JSON.stringify(skip));
  await page.click("#library li.tune button.name");
  await playing(page, 1);
  assert.match(await page.getAttribute("#seek", "aria-valuetext"), /^\d+:\d\d of \d+:\d\d$/);
  // Arrow keys on a focused tab switch tabs and do not seek.
  const t0 = await page.evaluate(() => document.getElementById("audio").currentTime);
  await page.focus("#tab-play");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.getAttribute("#tab-prefs", "aria-selected"), "true");
  const t1 = await page.evaluate(() => document.getElementById("audio").currentTime);
  assert.ok(t1 - t0 < 2, `no seek: ${t0} -> ${t1}`);
  await page.keyboard.press("ArrowLeft");
  assert.equal(await page.getAttribute("#tab-play", "aria-selected"), "true");
  // "?" lists the shortcuts.
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press("?");
  await page.waitForSelector("#shortcuts[open]");
  assert.match(await page.textContent("#shortcuts"), /Play or pause/);
  await page.keyboard.press("Escape");
  assert.deepEqual(errors, []);
  await page.close();
});
