// A sidflowd of a spec's own (for tests that stop the box, or measure what it spends): the
// binary run.sh built (SIDFLOWD_BIN), on a free loopback port, with a fresh state folder and
// the built-in demo library. Its CPU time comes from /proc/<pid>/stat.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

export async function startDaemon(tag = "own") {
  const bin = process.env.SIDFLOWD_BIN;
  if (!bin) throw new Error("SIDFLOWD_BIN is not set (tests/browser/run.sh sets it)");
  const dir = mkdtempSync(join(tmpdir(), `sidflow-${tag}-`));
  writeFileSync(join(dir, "sidflow.toml"), "[cache]\nwav_stop_percent = 100\nflac_stop_percent = 100\nmax_disk_percent = 100\n");
  const env = { ...process.env, RUST_LOG: "info" };
  delete env.SIDFLOW_ADMIN_PASSWORD;
  const child = spawn(bin, ["serve", "--config", join(dir, "sidflow.toml"), "--listen", "127.0.0.1:0", "--data-dir", dir],
    { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidflowd did not start:\n${log}`)), 20_000);
    child.stderr.on("data", (d) => {
      log += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`sidflowd exited (${code}):\n${log}`)); });
  });
  child.stderr.on("data", (d) => { log += d; });
  let exited = null;
  const gone = new Promise((resolve) => child.on("exit", (code, signal) => { exited = { code, signal }; resolve(exited); }));
  return {
    url,
    pid: child.pid,
    get log() { return log; },
    /** Seconds of CPU (user + system) the daemon has used so far. */
    cpu() {
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) / TICKS; // utime, stime (fields 14 and 15)
    },
    /** Stops it (SIGTERM) and waits; the state folder goes too. */
    async stop() {
      if (!exited) { child.kill("SIGTERM"); await gone; }
      rmSync(dir, { recursive: true, force: true });
      return exited;
    },
  };
}
