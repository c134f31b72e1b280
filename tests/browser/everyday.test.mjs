// Everyday use of the listener's page (issue 11, "Broken today"): what broke within minutes
// for a new listener, each case written so that it failed before the fix.
import { test, before, after } from "node:test";
import { launch } from "./browser.mjs";
import { open, adminLogin, playing, search, assert } from "./helpers.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

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
    for (const { page } of tabs) await page.close();
    browser.context.off("request", track);
  }
});
