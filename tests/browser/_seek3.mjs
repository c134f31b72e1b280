import { launch } from "./browser.mjs";
const BASE = process.env.U, FMT = process.env.F || "mp3", TUNE = process.env.T || "trinity";
const b = await launch();
const page = await b.context.newPage();
await page.goto(BASE + "/");
await page.evaluate((f) => localStorage.setItem("sidflow.prefs", JSON.stringify({ format: f })), FMT);
await page.reload();
await page.fill("#search", TUNE);
await page.waitForFunction((t) => document.querySelector("#library li.tune .t")?.textContent.toLowerCase().includes(t), TUNE.split(" ")[0]);
await page.click("#library li.tune button.name");
await page.waitForFunction(() => { const a = document.getElementById("audio"); return !a.paused && a.currentTime > 0.3; });
const info = () => page.evaluate(() => { const a = document.getElementById("audio"); const s = a.seekable; return `t=${a.currentTime.toFixed(2)} paused=${a.paused} ended=${a.ended} dur=${a.duration} seekable=${s.length ? [s.start(0), s.end(0)] : []} rs=${a.readyState} ns=${a.networkState} src=${a.src.slice(-30)}`; });
await page.evaluate(() => document.activeElement.blur());
for (let i = 0; i < (+process.env.N || 6); i++) { await page.keyboard.press("ArrowRight"); await page.waitForTimeout(+process.env.D || 150); }
for (let i = 0; i < 25; i++) { await page.waitForTimeout(1000); console.log(await info()); }
await b.close();
