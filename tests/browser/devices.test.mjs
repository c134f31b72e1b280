// The operator's device management on /admin (issue 15): add by address (a wrong network
// password is refused with the reason, nothing is stored), test connection with a clear
// result, rename, a device's own password (never shown back), "Discover now" with its
// result, last seen, remove. Two simulated C64 Ultimates on loopback; the box here listens
// on loopback too, so discovery asks the known addresses only (the LAN part is tested in
// daemon/tests/devices_discovery.rs, in network namespaces).
import { test, before, after } from "node:test";
import { spawn } from "node:child_process";
import { launch } from "./browser.mjs";
import { open, adminLogin, playing, search, assert } from "./helpers.mjs";

let browser;
const sims = [];
before(async () => { browser = await launch(); });
after(async () => { for (const s of sims) s.kill(); await browser?.close(); });

function sim(args) {
  const p = spawn(process.env.SIDFLOWD_BIN, ["sim-ultimate", "--ip", "127.0.0.1", "--port", "0", "--ident-port", "0", ...args],
    { stdio: ["ignore", "pipe", "ignore"] });
  sims.push(p);
  return new Promise((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (d) => { out += d; const m = /http:\/\/(\S+)/.exec(out); if (m) resolve({ p, addr: m[1] }); });
    p.on("exit", () => reject(new Error(`simulator exited: ${out}`)));
    setTimeout(() => reject(new Error("simulator did not start")), 15_000);
  });
}

test("devices on /admin: add, test connection, rename, own password never shown, discover now, remove", async (t) => {
  if (!process.env.SIDFLOWD_BIN) { t.skip("needs SIDFLOWD_BIN (run.sh sets it)"); return; }
  const a = await sim(["--unique-id", "UIDEVA", "--hostname", "ui-a"]);
  const b = await sim(["--unique-id", "UIDEVB", "--hostname", "ui-b", "--password", "b-secret-pw"]);
  const { page, errors } = await open(browser, "/admin");
  await adminLogin(page);
  await page.click("#tab-devices");
  await page.waitForSelector("#discover-status");

  // Add A by its address, with a name.
  await page.fill("#device-host", a.addr);
  await page.fill("#device-add-label", "Desk U64");
  await page.click("#device-add-submit");
  await page.waitForFunction(() => /^Added /.test(document.getElementById("device-add-result").textContent));
  await page.waitForSelector("#device-UIDEVA");
  assert.equal(await page.textContent("#device-UIDEVA .device-name"), "Desk U64");
  assert.equal(await page.textContent("#device-UIDEVA .device-online"), "online");
  assert.match(await page.textContent("#device-UIDEVA .device-seen"), /^Last seen (just now|\d+ s ago) · default password/);

  // B needs a password: without it (or with a wrong one) it is refused with the reason.
  await page.fill("#device-host", b.addr);
  await page.fill("#device-add-password", "wrong");
  await page.click("#device-add-submit");
  await page.waitForFunction(() => /^Not added: .*refused the network password/.test(document.getElementById("device-add-result").textContent));
  assert.equal(await page.$("#device-UIDEVB"), null);
  await page.fill("#device-add-password", "b-secret-pw");
  await page.click("#device-add-submit");
  await page.waitForSelector("#device-UIDEVB");
  assert.match(await page.textContent("#device-UIDEVB .device-seen"), /own password set/);

  // Test connection: a clear result on the row.
  await page.click("#device-UIDEVB button[aria-label^='Test connection']");
  await page.waitForFunction(() => /^OK .*answered in/.test(document.getElementById("device-test-UIDEVB").textContent));
  // Rename B.
  await page.click("#device-UIDEVB button[aria-label^='Rename']");
  await page.fill("#device-label-UIDEVB", "Den C64");
  await page.click("#device-UIDEVB .device-rename button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#device-UIDEVB .device-name")?.textContent === "Den C64");
  // A's password form: the field is empty, says "not set"; B's says "set (not shown)".
  await page.click("#device-UIDEVB button[aria-label^='Password']");
  assert.equal(await page.inputValue("#device-pw-UIDEVB"), "");
  assert.equal(await page.getAttribute("#device-pw-UIDEVB", "placeholder"), "set (not shown)");
  const html = await page.content();
  assert.ok(!html.includes("b-secret-pw"), "the password is never shown back");

  // Kill A: after a test it says why; "Discover now" reports what it found.
  a.p.kill();
  await page.click("#device-UIDEVA button[aria-label^='Test connection']");
  await page.waitForFunction(() => /^Failed /.test(document.getElementById("device-test-UIDEVA").textContent), null, { timeout: 20_000 });
  await page.click("#discover");
  await page.waitForFunction(() => /^Last discovery \(Discover now, .*\): Found \d+, 0 new/.test(document.getElementById("discover-status").textContent), null, { timeout: 20_000 });
  const found = await page.textContent("#discover-status");
  assert.match(found, /Found 1, 0 new \(only the known addresses/, found);
  await page.waitForFunction(() => document.querySelector("#device-UIDEVA .device-online")?.textContent === "offline", null, { timeout: 40_000 });

  // Remove A: asked first, then listed under the removed devices.
  await page.click("#device-UIDEVA button[aria-label^='Remove']");
  await page.click("#confirm-ok");
  await page.waitForFunction(() => !document.getElementById("device-UIDEVA"));
  await page.waitForFunction(() => /Desk U64/.test(document.getElementById("device-removed").textContent));

  // The listener's page names B by its new name.
  const l = await open(browser, "/");
  const names = await l.page.evaluate(async () => (await (await fetch("/api/devices")).json()).devices.map((d) => d.name));
  assert.ok(names.includes("Den C64"), names.join(", "));
  assert.ok(!names.includes("Desk U64"), names.join(", "));
  assert.deepEqual(errors, []);
  await l.page.close();
  await page.close();
});

// Hardware vs software A/B: the song recorded on a simulated C64 Ultimate whose line level is
// 8 dB below our engine's (a second simulator is online and idle), and rendered by our
// engine; the switch on the now-playing card changes what is heard at the same position (the
// two renderings' elements within 50 ms at the moment of each switch, and after it), sound
// comes out, and the levels, measured independently with ffmpeg's EBU R128 filter on the
// cached files plus the gains the page applied, are within 1 LU.
test("A/B: hardware and software renderings of one song, same position, matched levels", async (t) => {
  if (!process.env.SIDFLOWD_BIN) { t.skip("needs SIDFLOWD_BIN (run.sh sets it)"); return; }
  const { spawnSync } = await import("node:child_process");
  const { readdirSync } = await import("node:fs");
  const quiet = await sim(["--unique-id", "UIDEVQ", "--hostname", "ui-quiet", "--level-db", "-8", "--speed", "8"]);
  const spare = await sim(["--unique-id", "UIDEVS", "--hostname", "ui-spare", "--speed", "8"]);
  const admin = await open(browser, "/admin");
  await adminLogin(admin.page);
  // Only the quiet device records: the others are removed, the spare one is added after.
  await admin.page.evaluate(async ({ q, s }) => {
    const { csrf } = await (await fetch("/api/admin/session")).json();
    const call = async (method, path, body) => {
      const r = await fetch(path, { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } });
      if (!r.ok && r.status !== 404) throw new Error(`${path}: ${await r.text()}`);
      return r.json();
    };
    for (const d of (await call("GET", "/api/admin/devices")).devices || []) await call("DELETE", `/api/admin/devices/${d.id}`, {});
    await call("POST", "/api/admin/devices/add", { host: q });
    // Recorded on the quiet device (hardware only) and rendered by our engine, to the end.
    for (const mode of ["hardware", "software"]) {
      const sess = await call("POST", "/api/play", { path: "first-light.sid", song: 1, prefs: { mode, format: "mp3" } });
      if (sess.wait) throw new Error("the device is busy");
      const a = await fetch(sess.urls.audio);
      if (!a.ok) throw new Error(`${mode}: ${a.status} ${await a.text()}`);
      await a.arrayBuffer();
    }
    await call("POST", "/api/admin/devices/add", { host: s });
  }, { q: quiet.addr, s: spare.addr });
  await admin.page.close();

  const { page, errors } = await open(browser, "/");
  await search(page, "first light", "First Light");
  await page.click("#library li.tune button.name");
  await playing(page, 0.5);
  assert.ok(await page.$$eval("#now-badges .badge", (b) => b.some((x) => x.textContent === "C64 hardware")), "the recording plays first");
  await page.waitForSelector("#ab-toggle:not([hidden])", { timeout: 10_000 });
  const before = await page.textContent("#ab-toggle");
  assert.match(before, /^A\/B: (UltiSID|real|C64 Ultimate) 6581 vs reSID 6581$/, before);
  await playing(page, 2);
  // The positions at the very moment of each switch: read in the microtask after the
  // button's state changes (the same task as the switch, before any timer runs).
  await page.evaluate(() => {
    window.abSwitches = [];
    new MutationObserver(() => {
      const a = document.getElementById("audio-ab-a"), b = document.getElementById("audio-ab");
      window.abSwitches.push({ a: a.currentTime, b: b.currentTime, seeking: a.seeking || b.seeking, said: document.getElementById("ab-toggle").dataset.switch });
    }).observe(document.getElementById("ab-toggle"), { attributes: true, attributeFilter: ["aria-pressed"] });
  });
  await page.click("#ab-toggle");
  await page.waitForFunction(() => document.getElementById("ab-toggle").getAttribute("aria-pressed") === "true", null, { timeout: 20_000 });
  const sync = () => page.evaluate(() => {
    const a = document.getElementById("audio-ab-a"), b = document.getElementById("audio-ab");
    return { a: a.currentTime, b: b.currentTime, bPaused: b.paused, main: document.getElementById("audio").volume,
      gains: JSON.parse(document.getElementById("ab-toggle").dataset.gains || "{}") };
  });
  const s1 = await sync();
  const [w1] = await page.evaluate(() => window.abSwitches);
  assert.ok(!w1.seeking && Math.abs(w1.a - w1.b) < 0.05, `position at the switch: ${JSON.stringify(w1)}`);
  assert.ok(Math.abs(s1.a - s1.b) < 0.1, `just after the switch: ${JSON.stringify(s1)}`);
  assert.ok(s1.gains.a === 0 && s1.gains.b > 0 && !s1.bPaused && s1.main === 0, `B heard, the page's element silent: ${JSON.stringify(s1)}`);
  assert.match(await page.textContent("#ab-toggle"), /hearing reSID 6581 · switch to /);
  await page.waitForTimeout(1500);
  const s2 = await sync();
  // Sound comes out of the graph (the meter after the gains), not silence.
  const heardDb = await page.evaluate(() => document.getElementById("ab-toggle").ab.level());
  assert.ok(heardDb > -45, `the software rendering is heard: ${heardDb} dBFS`);
  assert.ok(s2.b > s1.b + 1, `the software rendering plays on: ${JSON.stringify(s2)}`);
  assert.ok(Math.abs(s2.a - s2.b) < 0.05, `still together: ${JSON.stringify(s2)}`);
  const trace = [];
  for (let i = 0; i < 10; i++) { const x = await sync(); trace.push(`${(1000 * (x.a - x.b)).toFixed(0)}@${x.b.toFixed(2)}`); await page.waitForTimeout(100); }
  // Back to the hardware: the same, the other way.
  await page.click("#ab-toggle");
  await page.waitForFunction(() => document.getElementById("ab-toggle").getAttribute("aria-pressed") === "false");
  const s3 = await sync();
  const w3 = (await page.evaluate(() => window.abSwitches))[1];
  assert.ok(!w3.seeking && Math.abs(w3.a - w3.b) < 0.05, `position at the switch back: ${JSON.stringify(w3)} ${trace.join(" ")}`);
  assert.ok(s3.gains.a > 0 && s3.gains.b === 0, `A heard: ${JSON.stringify(s3)}`);

  // Levels: ffmpeg's EBU R128 of each cached MP3 (a mono render counted as dual mono, as
  // heard on two speakers and as the box measures it), plus the gain the page applied.
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = `${d}/${e.name}`; if (e.isDirectory()) walk(p); else if (/first-light.*\.mp3$/.test(e.name)) files.push(p); } };
  walk(process.env.SIDFLOW_DATA);
  const measure = (f) => {
    const r = spawnSync("ffmpeg", ["-hide_banner", "-nostats", "-i", f, "-af", "ebur128=dualmono=true", "-f", "null", "-"], { encoding: "utf8" });
    const m = [...String(r.stderr).matchAll(/I:\s+(-?\d+(?:\.\d+)?) LUFS/g)];
    assert.ok(m.length, `ffmpeg ebur128 of ${f}: ${r.stderr}`);
    return Number(m[m.length - 1][1]);
  };
  const hw = files.find((f) => /c64u/.test(f)), sw = files.find((f) => !/c64u/.test(f));
  assert.ok(hw && sw, files.join(", "));
  const [lh, ls] = [measure(hw), measure(sw)];
  const box = await page.evaluate(async () => (await (await fetch("/api/variants?path=first-light.sid")).json()).variants);
  assert.ok(ls - lh > 3, `the recording is quieter unmatched: ${lh} vs ${ls} LUFS; the box measured ${JSON.stringify(box)}`);
  const heardHw = lh + 20 * Math.log10(s3.gains.a), heardSw = ls + 20 * Math.log10(s1.gains.b);
  assert.ok(Math.abs(heardHw - heardSw) <= 1, `matched levels: hardware ${heardHw.toFixed(2)}, software ${heardSw.toFixed(2)} LUFS (gains ${s3.gains.a}, ${s1.gains.b}); the box measured ${JSON.stringify(box)}`);
  console.log(`A/B: switch offsets ${(1000 * Math.abs(w1.a - w1.b)).toFixed(1)} ms and ${(1000 * Math.abs(w3.a - w3.b)).toFixed(1)} ms (just after: ${(1000 * Math.abs(s1.a - s1.b)).toFixed(1)}, ${(1000 * Math.abs(s3.a - s3.b)).toFixed(1)} ms) (a-b while B was heard, ms@s: ${trace.join(" ")}); hardware ${lh} LUFS, software ${ls} LUFS, as heard ${heardHw.toFixed(2)} vs ${heardSw.toFixed(2)}; meter ${heardDb.toFixed(1)} dBFS`);
  assert.deepEqual(errors, []);
  await page.close();
});

// "Hardware only" while the only C64 Ultimate records for someone else: the listener sees
// their place in line and hears the song when the device is free; "hardware if available"
// gets the software rendering at once and says why.
test("hardware only waits in line with its place shown; hardware if available plays software at once", async (t) => {
  if (!process.env.SIDFLOWD_BIN) { t.skip("needs SIDFLOWD_BIN (run.sh sets it)"); return; }
  const w = await sim(["--unique-id", "UIDEVW", "--hostname", "ui-wait", "--speed", "2"]);
  const admin = await open(browser, "/admin");
  await adminLogin(admin.page);
  await admin.page.evaluate(async (host) => {
    const { csrf } = await (await fetch("/api/admin/session")).json();
    const call = async (method, path, body) => {
      const r = await fetch(path, { method, body: body && JSON.stringify(body), headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } });
      if (!r.ok && r.status !== 404) throw new Error(`${path}: ${await r.text()}`);
      return r.json();
    };
    for (const d of (await call("GET", "/api/admin/devices")).devices || []) await call("DELETE", `/api/admin/devices/${d.id}`, {});
    await call("POST", "/api/admin/devices/add", { host });
  }, w.addr);
  await admin.page.close();
  const listener = async (mode) => {
    const x = await open(browser, "/");
    await x.page.evaluate((mode) => localStorage.setItem("sidflow.prefs", JSON.stringify({ version: 1, mode })), mode);
    await x.page.reload();
    return x;
  };
  const badges = (page) => page.$$eval("#now-badges .badge", (b) => b.map((x) => x.textContent));
  // The first records "Basement" on the device (about 18 s at the simulator's 2x).
  const first = await listener("hardware");
  await search(first.page, "basement", "Basement");
  await first.page.click("#library li.tune button.name");
  await playing(first.page, 0.3);
  assert.ok((await badges(first.page)).includes("C64 hardware"));
  // The second waits, and is told where in line.
  const second = await listener("hardware");
  await search(second.page, "pulse code", "Pulse Code");
  await second.page.click("#library li.tune button.name");
  await second.page.waitForFunction(() => /Waiting for a C64 Ultimate: number 1 in line/.test(document.getElementById("now-status").textContent), null, { timeout: 10_000 });
  assert.equal(await second.page.evaluate(() => document.getElementById("audio").currentTime), 0);
  // The third (hardware if available) hears our engine at once, and why.
  const third = await listener("auto");
  await search(third.page, "left and right", "Left and Right");
  await third.page.click("#library li.tune button.name");
  await playing(third.page, 0.3);
  assert.ok((await badges(third.page)).includes("software"));
  await third.page.waitForFunction(() => /every C64 Ultimate is busy/.test(document.getElementById("toast").textContent), null, { timeout: 5_000 });
  // The device frees up: the second hears "Pulse Code" recorded for them.
  const t0 = Date.now();
  await playing(second.page, 0.3, 60_000);
  assert.ok((await badges(second.page)).includes("C64 hardware"));
  assert.equal(await second.page.textContent("#now-status"), "");
  console.log(`waiting list: the second listener's song started ${((Date.now() - t0) / 1000).toFixed(1)} s after the third began`);
  for (const p of [first, second, third]) { assert.deepEqual(p.errors, []); await p.page.close(); }
});
