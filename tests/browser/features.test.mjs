// What people who use DeepSID, Navidrome or a phone music app expect (issue 11): the lock
// screen (Media Session), install as an app, links to a tune and song with back/forward,
// songs as buttons, queue tools, library sort/filters/random/downloads, "see the music".
import { test, before, after, afterEach } from "node:test";
import { launch, BASE } from "./browser.mjs";
import { open, playing, search, assert } from "./helpers.mjs";

let browser;
// The box's stream (the in-browser engine, the default source, is inbrowser.test.mjs's).
before(async () => { browser = await launch({ source: "stream" }); });
after(async () => { await browser?.close(); });
// A test that failed half-way leaves no page behind (each holds connections to the box).
afterEach(async () => { for (const p of browser.context.pages()) await p.close().catch(() => {}); });

test("lock screen, app manifest, cover: Media Session metadata and artwork, installable icons", async () => {
  const { page, errors } = await open(browser, "/");
  await search(page, "three wishes", "Three Wishes");
  await page.click("#library li.tune button.name");
  await playing(page);
  const ms = await page.evaluate(() => { const m = navigator.mediaSession.metadata;
    return { title: m.title, artist: m.artist, art: m.artwork[0].src.slice(0, 22), state: navigator.mediaSession.playbackState }; });
  assert.equal(ms.title, "Three Wishes");
  assert.ok(ms.artist.length > 0);
  assert.equal(ms.art, "data:image/png;base64,");
  assert.equal(ms.state, "playing");
  const cover = await page.getAttribute("#now-cover", "src");
  // The cover is the tune's: the same after a reload.
  await page.reload();
  await search(page, "three wishes", "Three Wishes");
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => !document.getElementById("now-cover").hidden);
  assert.equal(await page.getAttribute("#now-cover", "src"), cover);
  const manifest = await page.evaluate(async () => {
    const m = await (await fetch(document.querySelector("link[rel=manifest]").href)).json();
    const icons = [];
    for (const i of m.icons) { const r = await fetch(i.src); icons.push(`${i.sizes} ${r.status} ${r.headers.get("content-type")}`); }
    return { name: m.name, display: m.display, icons, theme: document.querySelector("meta[name=theme-color]").content };
  });
  assert.equal(manifest.display, "standalone");
  assert.deepEqual(manifest.icons, ["any 200 image/svg+xml", "192x192 200 image/png", "512x512 200 image/png"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("links name the tune and song; back and forward; songs are buttons with the start song marked", async () => {
  const { page, errors } = await open(browser, "/");
  await search(page, "three wishes", "Three Wishes");
  await page.click("#library li.tune button.name");
  await playing(page);
  assert.equal(await page.getAttribute("#songs .start", "aria-label"), "Song 1 (start song)");
  await page.click("#songs button:nth-child(2)");
  await page.waitForFunction(() => location.hash === "#/tune/three-wishes.sid?song=2");
  await search(page, "basement", "Basement");
  await page.click("#library li.tune button.name");
  await page.waitForFunction(() => location.hash === "#/tune/basement.sid");
  await page.goBack();
  await page.waitForFunction(() => document.getElementById("now-title").textContent === "Three Wishes"
    && document.querySelector("#songs [aria-pressed=true]")?.textContent === "2");
  await page.goForward();
  await page.waitForFunction(() => document.getElementById("now-title").textContent === "Basement");
  // A shared link opens that tune and song, ready to play.
  const other = await open(browser, "/#/tune/three-wishes.sid?song=3");
  await other.page.waitForFunction(() => document.getElementById("now-title").textContent === "Three Wishes"
    && document.querySelector("#songs [aria-pressed=true]")?.textContent === "3");
  await other.page.click("#play-pause");
  await playing(other.page);
  assert.deepEqual([...errors, ...other.errors], []);
  await page.close();
  await other.page.close();
});

test("queue tools: reorder with the keyboard, play next, repeat, shuffle, remove", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  await page.click("#queue-clear");
  const titles = await page.$$eval("#library li.tune .t", (e) => e.slice(0, 3).map((x) => x.textContent));
  for (let i = 0; i < 3; i++) await page.locator("#library li.tune button[aria-label^='Add ']").nth(i).click();
  const q = () => page.$$eval("#queue li:not(.empty) .t", (els) => els.map((e) => e.textContent.trim()));
  assert.deepEqual(await q(), titles);
  await page.focus("#queue li:nth-child(3) .handle");
  await page.keyboard.press("ArrowUp");
  assert.deepEqual(await q(), [titles[0], titles[2], titles[1]]);
  // Play next puts a tune right after the current one.
  await page.click("#queue li:nth-child(1) button.name");
  await playing(page);
  await page.locator("#library li.tune button[aria-label$=' next']").nth(3).click();
  const fourth = (await page.$$eval("#library li.tune .t", (e) => e[3].textContent));
  assert.equal((await q())[1], fourth);
  await page.click("#repeat");
  await page.click("#repeat");
  assert.equal(await page.textContent("#repeat"), "Repeat one");
  await page.click("#repeat");
  await page.click("#shuffle");
  await page.waitForFunction(() => /Shuffled|Nothing left/.test(document.getElementById("toast").textContent));
  assert.equal((await q())[0], titles[0], "the current song stays first");
  await page.click("#queue li:nth-child(2) button[aria-label^='Remove']");
  assert.equal((await q()).length, 3);
  assert.deepEqual(errors, []);
  await page.close();
});

test("library: sort, filters, a random tune, downloads of the .sid and the audio, the playing tune marked", async () => {
  const { page, errors } = await open(browser, "/");
  await page.waitForSelector("#library li.tune");
  await page.selectOption("#sort", "title");
  const sorted = await page.$$eval("#library li.tune .t", (e) => e.map((x) => x.textContent));
  assert.deepEqual(sorted, [...sorted].sort((a, b) => a.localeCompare(b)));
  await page.click("details.filters summary");
  await page.click("button.chip[data-q='sids:2']");
  await page.waitForFunction(() => document.querySelector(".crumbs").textContent.includes("sids:2"));
  const two = await page.evaluate(async () => (await (await fetch("/api/library/search?q=sids:2")).json()).tunes.map((t) => t.title).sort());
  assert.ok(two.length >= 1);
  assert.deepEqual((await page.$$eval("#library li.tune .t", (e) => e.map((x) => x.textContent))).sort(), two);
  await page.click("button.chip[data-q='sids:2']");
  await page.click("#random");
  await playing(page);
  const title = await page.textContent("#now-title");
  await page.waitForFunction((t) => document.querySelector("#library li.tune[aria-current=true] .t")?.textContent === t || !document.querySelector(`#library li.tune`), title);
  const sid = await page.evaluate(async () => { const a = document.getElementById("download-sid");
    const b = new Uint8Array(await (await fetch(a.href)).arrayBuffer()); return String.fromCharCode(...b.slice(1, 4)); });
  assert.equal(sid, "SID");
  await page.waitForSelector("#download-audio:not([hidden])", { timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("see the music: nothing loaded until opened; then each voice's note and waveform, synced", async () => {
  const { page, errors } = await open(browser, "/");
  await search(page, "trinity", "Trinity");
  await page.click("#library li.tune button.name");
  await playing(page, 1);
  const loaded = () => page.evaluate(() => performance.getEntriesByType("resource").map((r) => r.name)
    .filter((n) => /visual\.js|\/voices$/.test(n)).length);
  assert.equal(await loaded(), 0, "costs nothing while closed");
  await page.click("#visual-toggle");
  await page.waitForFunction(() => document.getElementById("visual").dataset.mode === "voices", null, { timeout: 15_000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#voices li")].filter((l) => /^Voice \d: [A-G]#?-?\d /.test(l.textContent)).length >= 2,
    null, { timeout: 10_000 });
  const a = await page.$$eval("#voices li", (l) => l.map((x) => x.textContent).join("|"));
  await page.waitForTimeout(1500);
  const b = await page.$$eval("#voices li", (l) => l.map((x) => x.textContent).join("|"));
  assert.notEqual(a, b, "it moves with the music");
  await page.click("#visual-toggle");
  assert.equal(await page.getAttribute("#visual-toggle", "aria-expanded"), "false");
  assert.deepEqual(errors, []);
  await page.close();
});

// Last of the suite: it adds a (simulated) C64 Ultimate to the box, which changes what
// "hardware only" answers for the tests that would follow.
test("'Listen live' leaves nothing of the previous tune on screen (songs, formats, position, queue marker)", async (t) => {
  if (!process.env.SIDFLOWD_BIN) { t.skip("needs SIDFLOWD_BIN (run.sh sets it)"); return; }
  const { spawn } = await import("node:child_process");
  const sim = spawn(process.env.SIDFLOWD_BIN, ["sim-ultimate", "--ip", "127.0.0.1", "--port", "0", "--ident-port", "0"],
    { stdio: ["ignore", "pipe", "ignore"] });
  try {
    const addr = await new Promise((resolve, reject) => {
      let out = "";
      sim.stdout.on("data", (d) => { out += d; const m = /http:\/\/(\S+)/.exec(out); if (m) resolve(m[1]); });
      sim.on("exit", () => reject(new Error(`simulator exited: ${out}`)));
      setTimeout(() => reject(new Error("simulator did not start")), 15_000);
    });
    const admin = await open(browser, "/admin");
    const { adminLogin } = await import("./helpers.mjs");
    await adminLogin(admin.page);
    await admin.page.evaluate(async (host) => {
      const s = await (await fetch("/api/admin/session")).json();
      const r = await fetch("/api/admin/devices/add", { method: "POST", body: JSON.stringify({ host }),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf } });
      if (!r.ok) throw new Error(await r.text());
    }, addr);
    await admin.page.close();
    const { page, errors } = await open(browser, "/");
    await page.waitForSelector("#devices-row:not([hidden])", { timeout: 20_000 });
    await page.evaluate(() => (document.getElementById("queue-clear")
      || [...document.querySelectorAll("#panel-play button")].find((b) => b.textContent === "Clear")).click());
    await search(page, "three wishes", "Three Wishes");
    await page.click("#library li.tune button.name");
    await playing(page);
    await page.click("#device-live");
    await page.waitForFunction(() => document.getElementById("now-title").textContent.startsWith("Live from"));
    const s = await page.evaluate(() => ({
      songs: document.getElementById("song-row").hidden, formats: document.getElementById("format-row").hidden,
      seek: document.getElementById("seek").disabled, value: document.getElementById("seek").value,
      time: document.getElementById("time").textContent, marked: document.querySelectorAll("#queue li[aria-current=true]").length,
      rate: document.getElementById("like").disabled,
    }));
    assert.deepEqual(s, { songs: true, formats: true, seek: true, value: "0", time: "live", marked: 0, rate: true });
    assert.deepEqual(errors.filter((e) => !/live audio/.test(e)), []);
    await page.close();
  } finally {
    sim.kill();
  }
});
