import { launch } from "./browser.mjs";
const BASE = process.env.U;
const b = await launch();
const page = await b.context.newPage();
page.on("console", (m) => console.log("console:", m.text()));
await page.goto(BASE + "/");
await page.fill("#search", "trinity");
await page.waitForFunction(() => document.querySelector("#library li.tune .t")?.textContent.includes("Trinity"));
await page.click("#library li.tune button.name");
await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; });
const info = () => page.evaluate(() => { const a = document.getElementById("audio"); const s = a.seekable; return { t: a.currentTime.toFixed(2), paused: a.paused, ended: a.ended, dur: a.duration, seekable: s.length ? [s.start(0), s.end(0)] : [], rs: a.readyState, ns: a.networkState, time: document.getElementById("time").textContent, toast: document.getElementById("toast").textContent }; });
console.log(await info());
await page.evaluate((v) => { const s = document.getElementById("seek"); s.value = v; s.dispatchEvent(new Event("change")); }, process.env.S || "20");
for (let i = 0; i < 20; i++) { await page.waitForTimeout(1000); console.log(await info()); }
await b.close();
