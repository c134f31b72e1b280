// Web budgets (doc/performance.md, "## Web page"): run by bench-web.sh against a fresh daemon.
//  1. bytes transferred for the first screen of / (everything loaded until the library and
//     the play controls are shown), as Chromium counts them (encoded, headers included);
//  2. time until the play controls and preferences are usable, under Chromium's network
//     emulation: DevTools' "Slow 3G" (2000 ms per request, 50 KB/s), "Fast 3G" (562.5 ms,
//     180 KB/s) and none;
//  3. click to sound: from the click on a tune to the first advancing audio time, for an
//     uncached song (rendered as it plays) and the same song cached; N tunes, median.
import { launch, BASE } from "./browser.mjs";

const PROFILES = {
  none: null,
  "Fast 3G": { latency: 150 * 3.75, downloadThroughput: (1.6 * 1000 * 1000) / 8 * 0.9, uploadThroughput: (750 * 1000) / 8 * 0.9 },
  "Slow 3G": { latency: 400 * 5, downloadThroughput: (500 * 1000) / 8 * 0.8, uploadThroughput: (500 * 1000) / 8 * 0.8 },
};
const usable = () => document.querySelector("#library li.tune") && document.getElementById("play-pause")
  && document.getElementById("tab-prefs");

const b = await launch();
const results = {};
for (const [name, cond] of Object.entries(PROFILES)) {
  const page = await b.context.newPage();
  const cdp = await b.context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  if (cond) await cdp.send("Network.emulateNetworkConditions", { offline: false, ...cond });
  let bytes = 0;
  const urls = [];
  const seen = new Map();
  cdp.on("Network.requestWillBeSent", (e) => seen.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => {
    const u = seen.get(e.requestId) || "";
    if (/\/api\/(events|admin\/events|playback)/.test(u)) return;
    bytes += e.encodedDataLength; urls.push(`${u.replace(BASE, "")} ${e.encodedDataLength}`);
  });
  await page.addInitScript(`new MutationObserver(() => { if (!window.__usable && (${usable})()) window.__usable = performance.now(); })
    .observe(document, { subtree: true, childList: true });`);
  const t0 = Date.now();
  await page.goto(BASE + "/", { waitUntil: "commit" });
  await page.waitForFunction(usable, null, { timeout: 60_000, polling: 20 });
  const ms = Date.now() - t0;
  await page.waitForTimeout(cond ? 8000 : 1500); // the first screen's requests, and what loads when idle
  // The first screen: what the page asked for until it was usable (Resource Timing start
  // times), counted on the wire (DevTools protocol: headers and encoded body).
  const first = await page.evaluate(() => ["/", ...performance.getEntriesByType("resource")
    .filter((e) => e.startTime <= window.__usable).map((e) => e.name.replace(location.origin, ""))]);
  const wire = new Map(urls.map((x) => { const i = x.lastIndexOf(" "); return [x.slice(0, i), Number(x.slice(i + 1))]; }));
  const firstBytes = first.reduce((a, u) => a + (wire.get(u) || 0), 0);
  results[name] = { usable_ms: ms, first_screen_bytes: firstBytes, first_screen_requests: first.length,
    page_bytes_after_idle: bytes, requests_after_idle: urls.length };
  if (name === "none") results.files = urls;
  await page.close();
}

if (process.env.ONLY === "load") { await b.close(); console.log(JSON.stringify(results, null, 2)); process.exit(0); }
// Click to sound, N tunes: first play (uncached, with a chip and format nobody asked for) and
// second (cached).
const page = await b.context.newPage();
await page.goto(BASE + "/");
await page.evaluate(() => localStorage.setItem("sidflow.prefs", JSON.stringify({ chip: "8580", format: "mp3" })));
await page.reload();
await page.waitForSelector("#library li.tune");
const n = Math.min(Number(process.env.N || 6), await page.locator("#library li.tune").count());
const clickToSound = async (i) => {
  await page.evaluate(() => { const a = document.getElementById("audio"); if (a) a.pause(); });
  await page.waitForTimeout(300);
  return page.evaluate(async (i) => {
    const btn = document.querySelectorAll("#library li.tune button.name")[i];
    const t0 = performance.now();
    btn.click();
    const a = document.getElementById("audio");
    await new Promise((res) => {
      const check = () => { if (!a.paused && a.currentTime > 0 && a.src) { a.removeEventListener("timeupdate", check); res(); } };
      a.addEventListener("timeupdate", check);
    });
    return performance.now() - t0;
  }, i);
};
const unc = [], cac = [];
for (let i = 0; i < n; i++) {
  unc.push(await clickToSound(i));
  await page.waitForTimeout(6000); // let the render finish and be cached
  cac.push(await clickToSound(i));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
results.click_to_sound = { uncached_ms: unc.map(Math.round), cached_ms: cac.map(Math.round),
  uncached_median_ms: Math.round(med(unc)), cached_median_ms: Math.round(med(cac)) };
await b.close();
console.log(JSON.stringify(results, null, 2));
