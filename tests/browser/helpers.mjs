// Shared by the browser specs: pages that collect errors, the operator's login, waits.
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { BASE } from "./browser.mjs";

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };
export const PASSWORD = "browser-test-pw";

/** A new page of `browser` at `path`, collecting page errors and console errors. */
export async function open(browser, path, size = DESKTOP) {
  const page = await browser.context.newPage();
  await page.setViewportSize(size);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/favicon|Failed to load resource/.test(m.text())) errors.push(m.text()); });
  await page.goto(BASE + path);
  return { page, errors };
}

/** The one-time setup code a fresh box asks for (the daemon keeps it in its state folder). */
export function setupCode() {
  return readFileSync(`${process.env.SIDFLOW_DATA}/setup-code`, "utf8").trim();
}

/** Logs in on /admin (choosing the password on a fresh box). */
export async function adminLogin(page) {
  await page.waitForSelector("#login-form, #tab-jobs");
  if (await page.$("#login-form")) {
    if (await page.$("#setup-code")) await page.fill("#setup-code", setupCode());
    await page.fill("#password", PASSWORD);
    await page.click("#login-submit");
  }
  await page.waitForSelector("#tab-jobs");
}

/** Waits until this page's audio plays past `t` seconds. */
export async function playing(page, t = 0.3, timeout = 30_000) {
  await page.waitForFunction((t) => { const a = document.getElementById("audio"); return a && !a.paused && a.currentTime > t; },
    t, { timeout });
}

export async function search(page, words, title) {
  await page.fill("#search", words);
  await page.waitForFunction((t) => document.querySelector("#library li.tune .t")?.textContent.includes(t), title);
}

/** Horizontal overflow of the page: how far it is wider than the viewport. */
export async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

export { assert };
