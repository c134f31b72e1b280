// Launches Debian's Chromium through playwright-core with the flags that work on our
// machines (no downloads of a browser of its own), in a fresh profile.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BASE = process.env.SIDFLOW_URL || "http://127.0.0.1:8080";

/**
 * `source`: the playback source the pages start with when their preferences name none
 * (e.g. "stream": the specs about the box's stream; the default, the in-browser engine, is
 * inbrowser.test.mjs's).
 */
export async function launch({ source = null } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "sidflow-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--autoplay-policy=no-user-gesture-required"],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  if (source) {
    await context.addInitScript((s) => {
      try {
        const p = JSON.parse(localStorage.getItem("sidflow.prefs") || "{}");
        if (!p.source) localStorage.setItem("sidflow.prefs", JSON.stringify({ ...p, source: s }));
      } catch { /* about:blank and other pages without storage */ }
    }, source);
  }
  return {
    context,
    async close() { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}
