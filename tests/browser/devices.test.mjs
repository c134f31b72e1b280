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
