// Screenshots for a person to look at: node shot.mjs [path] [out.png]
import { launch, BASE } from "./browser.mjs";
const b = await launch();
const page = await b.context.newPage();
page.on("console", (m) => console.log("console:", m.text()));
page.on("pageerror", (e) => console.log("pageerror:", e.message));
await page.goto(BASE + (process.argv[2] || "/"));
await page.waitForTimeout(800);
if (process.argv[4]) { await page.click(process.argv[4]); await page.waitForTimeout(2500); }
await page.screenshot({ path: process.argv[3] || "/tmp/shot.png", fullPage: true });
await b.close();
