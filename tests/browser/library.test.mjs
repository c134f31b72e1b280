// The listener's library on a generated HVSC-shaped collection (its own daemon, not the
// demo library): search as you type (debounced, ranked, paged), browsing
// MUSICIANS/<letter>/<composer> with the composer's line, and a page that never holds more
// than one page of tunes however large the folder or the result.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch } from "./browser.mjs";

const PAGE = 100;
let dir, daemon, base, browser;

/** A PSID v2 file (init and play are an RTS) with Latin-1 strings. */
function psid(title, author, released, salt) {
  const h = Buffer.alloc(0x7c + 8);
  h.write("PSID", 0, "latin1");
  h.writeUInt16BE(2, 4); h.writeUInt16BE(0x7c, 6); h.writeUInt16BE(0x1000, 8);
  h.writeUInt16BE(0x1000, 10); h.writeUInt16BE(0x1000, 12); h.writeUInt16BE(1, 14); h.writeUInt16BE(1, 16);
  h.write(title.slice(0, 31), 0x16, "latin1"); h.write(author.slice(0, 31), 0x36, "latin1"); h.write(released.slice(0, 31), 0x56, "latin1");
  h.writeUInt16BE(0x0014, 0x76);
  h[0x7c] = 0x60; h.writeUInt32BE(salt, 0x7d);
  return h;
}

function put(root, path, bytes) {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), bytes);
}

before(async () => {
  if (!process.env.SIDFLOWD_BIN) return;
  dir = mkdtempSync(join(tmpdir(), "sidflow-libui-"));
  const lib = join(dir, "C64Music");
  let n = 0;
  // 26 letters x 4 composers x 20 tunes, and one composer with 250 (more than a page).
  for (const L of "ABCDEFGIJKLMNOPQRSTUVWXYZ") {
    for (let c = 0; c < 4; c++) {
      const name = `${L}comp${c}`;
      for (let i = 0; i < 20; i++) put(lib, `MUSICIANS/${L}/${name}_X/tune_${i}.sid`, psid(`${name} song ${i}`, `X ${name}`, `${1984 + (i % 10)} Nobody`, n++));
    }
  }
  for (let i = 0; i < 250; i++) put(lib, `MUSICIANS/H/Hubbard_Rob/Tune_${String(i).padStart(3, "0")}.sid`, psid(`Monty Theme ${i}`, "Rob Hubbard", `${1985 + (i % 4)} Gremlin`, n++));
  for (let i = 0; i < 30; i++) put(lib, `MUSICIANS/K/Kohler_Jorg/j_${i}.sid`, psid(`Weiße Nacht ${i}`, "Jörg Köhler", "1990 Köhler", n++));
  for (let i = 0; i < 40; i++) put(lib, `GAMES/A-F/Game_${i}.sid`, psid(`Arcade ${i}`, "Various", "1987 Ocean", n++));
  put(lib, "DOCUMENTS/STIL.txt", Buffer.from("/MUSICIANS/H/Hubbard_Rob/\r\nCOMMENT: Rob's folder of themes.\r\n", "latin1"));
  const cfg = join(dir, "sidflow.toml");
  writeFileSync(cfg, `[paths]\nlibrary = ${JSON.stringify(lib)}\n`);
  daemon = spawn(process.env.SIDFLOWD_BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "state"), "--config", cfg],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RUST_LOG: "info", SIDFLOW_ADMIN_PASSWORD: "" } });
  base = await new Promise((resolve, reject) => {
    let log = "";
    const t = setTimeout(() => reject(new Error(`sidflowd did not start: ${log}`)), 20_000);
    daemon.stderr.on("data", (b) => {
      log += b;
      const m = /listening on (http:\/\/\S+)/.exec(log);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
  });
  for (let i = 0; i < 600; i++) {
    const h = await (await fetch(`${base}/api/health`)).json();
    if (!h.library.scanning && h.library.tunes === n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  daemon?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rows = (page) => page.$$eval("#library li.tune", (l) => l.length);

test("search as you type: debounced, ranked, one page at a time", async (t) => {
  if (!daemon) { t.skip("needs SIDFLOWD_BIN (run.sh sets it)"); return; }
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const searches = [];
  page.on("request", (r) => { if (r.url().includes("/api/library/search")) searches.push(r.url()); });
  await page.goto(base + "/");
  await page.waitForSelector("#library li.folder");
  await page.click("#search");
  await page.keyboard.type("hubbard", { delay: 30 });
  await page.waitForFunction(() => /250 result/.test(document.querySelector(".crumbs")?.textContent || ""));
  assert.ok(searches.length < 4, `one request per pause in typing, not per key: ${searches.length}`);
  assert.equal(await rows(page), PAGE);
  assert.match(await page.textContent("#page-info"), /1–100 of 250/);
  await page.click("#page-next");
  await page.waitForFunction(() => /101–200 of 250/.test(document.getElementById("page-info").textContent));
  assert.equal(await rows(page), PAGE);
  await page.click("#page-next");
  await page.waitForFunction(() => /201–250 of 250/.test(document.getElementById("page-info").textContent));
  assert.equal(await rows(page), 50);
  assert.ok(await page.isDisabled("#page-next"));
  // Diacritics folded, a typo forgiven, fields: the box's query language.
  await page.fill("#search", "jorg kohler");
  await page.waitForFunction(() => /30 result/.test(document.querySelector(".crumbs").textContent));
  assert.match(await page.textContent("#library li.tune .s"), /Jörg Köhler/);
  await page.fill("#search", "hubbrad");
  await page.waitForFunction(() => /250 result/.test(document.querySelector(".crumbs").textContent));
  await page.fill("#search", "author:hubbard year:1986");
  await page.waitForFunction(() => /\b63 result/.test(document.querySelector(".crumbs").textContent));
  await page.fill("#search", "");
  await page.waitForSelector("#library li.folder");
  assert.deepEqual(errors, []);
  await page.close();
});

test("browse HVSC's folders down to a composer, a page at a time", async (t) => {
  if (!daemon) { t.skip("needs SIDFLOWD_BIN (run.sh sets it)"); return; }
  const page = await browser.context.newPage();
  await page.goto(base + "/");
  const folder = async (name) => {
    await page.click(`#library li.folder button:has-text("${name}")`);
    await page.waitForFunction((n) => [...document.querySelectorAll(".crumbs button")].some((b) => b.textContent === n), name);
  };
  await page.waitForSelector("#library li.folder");
  assert.match(await page.textContent("#library"), /MUSICIANS[\s\S]*2280 tunes/);
  await folder("MUSICIANS");
  await folder("H");
  await folder("Hubbard_Rob");
  await page.waitForFunction(() => /Rob Hubbard/.test(document.getElementById("composer").textContent));
  const about = await page.textContent("#composer");
  assert.match(about, /1985–1988/);
  assert.match(about, /Rob's folder of themes/);
  assert.equal(await rows(page), PAGE);
  assert.match(await page.textContent("#page-info"), /1–100 of 250/);
  await page.click("#page-next");
  await page.waitForFunction(() => /101–200 of 250/.test(document.getElementById("page-info").textContent));
  assert.equal(await page.textContent("#library li.tune .t"), "Monty Theme 100");
  // However big the library, the list holds one page (and the folders of the first).
  assert.ok((await page.$$("#library li")).length <= PAGE);
  await page.click(".crumbs button:has-text('Library')");
  await page.waitForFunction(() => !document.getElementById("composer").textContent);
  assert.ok(await page.isHidden("#pager"));
  await page.close();
});
