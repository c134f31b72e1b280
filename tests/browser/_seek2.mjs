import { launch } from "./browser.mjs";
const BASE = process.env.U, FMT = process.env.F || "mp3", TUNE = process.env.T || "trinity";
const seeks = (process.env.S || "20").split(",").map(Number);
const b = await launch();
const page = await b.context.newPage();
await page.goto(BASE + "/");
await page.evaluate((f) => localStorage.setItem("sidflow.prefs", JSON.stringify({ format: f })), FMT);
await page.reload();
await page.fill("#search", TUNE);
await page.waitForFunction((t) => document.querySelector("#library li.tune .t")?.textContent.toLowerCase().includes(t), TUNE.split(" ")[0].replace(/_/g," "));
await page.click("#library li.tune button.name");
await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; });
const info = () => page.evaluate(() => { const a = document.getElementById("audio"); const s = a.seekable; return `t=${a.currentTime.toFixed(2)} paused=${a.paused} ended=${a.ended} dur=${a.duration} seekable=${s.length ? [s.start(0), s.end(0)] : []} rs=${a.readyState} title=${document.getElementById("now-title").textContent} toast=${document.getElementById("toast").textContent}`; });
for (const s of seeks) {
  await page.evaluate((v) => { const e = document.getElementById("seek"); e.max = "180"; e.value = String(v); e.dispatchEvent(new Event("change")); }, s);
  for (let i = 0; i < 3; i++) { await page.waitForTimeout(700); console.log(s, await info()); }
}
for (let i = 0; i < 25; i++) { await page.waitForTimeout(1000); console.log(await info()); }
await b.close();
