// The operator's device management on /admin (issue 15): add by address (a wrong network
// password is refused with the reason, nothing is stored), test connection with a clear
// result, rename, a device's own password (never shown back), "Discover now" with its
// result, last seen, remove. Two simulated C64 Ultimates on loopback; the box here listens
// on loopback too, so discovery asks the known addresses only (the LAN part is tested in
// daemon/tests/devices_discovery.rs, in network namespaces).
import { test, before, after } from "node:test";
import { spawn } from "node:child_process";
import { launch } from "./browser.mjs";
import { open, adminLogin, assert } from "./helpers.mjs";

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
// 8 dB below our engine's, and rendered by our engine; the switch on the now-playing card
// changes what is heard at the same position (the two <audio> elements within 50 ms at the
// moment of the switch and after it) and the levels, measured independently with ffmpeg's
// EBU R128 filter on the cached files and the volumes the page applied, within 1 LU.
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
  await page.click("#ab-toggle");
  await page.waitForFunction(() => document.getElementById("ab-toggle").getAttribute("aria-pressed") === "true", null, { timeout: 20_000 });
  const sync = () => page.evaluate(() => {
    const a = document.getElementById("audio"), b = document.getElementById("audio-ab");
    return { a: a.currentTime, b: b.currentTime, aMuted: a.muted, bMuted: b.muted, bPaused: b.paused, va: a.volume, vb: b.volume };
  });
  const s1 = await sync();
  assert.ok(Math.abs(s1.a - s1.b) < 0.05, `position at the switch: ${JSON.stringify(s1)}`);
  assert.deepEqual([s1.aMuted, s1.bMuted, s1.bPaused], [true, false, false], JSON.stringify(s1));
  assert.match(await page.textContent("#ab-toggle"), /hearing reSID 6581 · switch to /);
  await page.waitForTimeout(1500);
  const s2 = await sync();
  assert.ok(s2.b > s1.b + 1, `the software rendering plays on: ${JSON.stringify(s2)}`);
  assert.ok(Math.abs(s2.a - s2.b) < 0.05, `still together: ${JSON.stringify(s2)}`);
  // Back to the hardware: the same, the other way.
  await page.click("#ab-toggle");
  await page.waitForFunction(() => document.getElementById("ab-toggle").getAttribute("aria-pressed") === "false");
  const s3 = await sync();
  assert.ok(Math.abs(s3.a - s3.b) < 0.05, `position at the switch back: ${JSON.stringify(s3)}`);
  assert.deepEqual([s3.aMuted, s3.bMuted], [false, true]);

  // Levels: ffmpeg's EBU R128 of each cached MP3, plus the gain the page applied.
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = `${d}/${e.name}`; if (e.isDirectory()) walk(p); else if (/first-light.*\.mp3$/.test(e.name)) files.push(p); } };
  walk(process.env.SIDFLOW_DATA);
  const measure = (f) => {
    const r = spawnSync("ffmpeg", ["-hide_banner", "-nostats", "-i", f, "-af", "ebur128", "-f", "null", "-"], { encoding: "utf8" });
    const m = [...String(r.stderr).matchAll(/I:\s+(-?\d+(?:\.\d+)?) LUFS/g)];
    assert.ok(m.length, `ffmpeg ebur128 of ${f}: ${r.stderr}`);
    return Number(m[m.length - 1][1]);
  };
  const hw = files.find((f) => /c64u/.test(f)), sw = files.find((f) => !/c64u/.test(f));
  assert.ok(hw && sw, files.join(", "));
  const [lh, ls] = [measure(hw), measure(sw)];
  assert.ok(ls - lh > 6, `the recording is quieter unmatched: ${lh} vs ${ls} LUFS`);
  const heardHw = lh + 20 * Math.log10(s1.va), heardSw = ls + 20 * Math.log10(s1.vb);
  assert.ok(Math.abs(heardHw - heardSw) <= 1, `matched levels: hardware ${heardHw.toFixed(2)}, software ${heardSw.toFixed(2)} LUFS (volumes ${s1.va}, ${s1.vb})`);
  console.log(`A/B: switch offsets ${(1000 * Math.abs(s1.a - s1.b)).toFixed(1)} ms and ${(1000 * Math.abs(s3.a - s3.b)).toFixed(1)} ms; hardware ${lh} LUFS, software ${ls} LUFS, as heard ${heardHw.toFixed(2)} vs ${heardSw.toFixed(2)}`);
  assert.deepEqual(errors, []);
  await page.close();
});
