// For the in-browser engine's tests and benchmark: builds sidflow_engine.wasm (cargo, profile
// `wasm`) and serves web/js/engine/, the module, the demo tunes and a bare test page from a
// tiny HTTP server on loopback. The daemon is not involved (it will serve the same files
// under content-hashed names; doc/browser-engine.md).
import { createServer } from "node:http";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, extname, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const TARGET = join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "wasm-engine");
export const WASM = join(TARGET, "wasm32-unknown-unknown/wasm/sidflow_engine.wasm");

const required = () => ["CI", "SIDFLOW_REQUIRE_TESTDATA"].some((k) => process.env[k] && !/^(0|false)$/i.test(process.env[k]));

/** Builds the module; returns its path, or null (after saying why) when the Rust target is
 *  missing outside CI. */
export function buildWasm() {
  const sysroot = execFileSync("rustc", ["--print", "sysroot"], { encoding: "utf8" }).trim();
  if (!existsSync(join(sysroot, "lib/rustlib/wasm32-unknown-unknown"))) {
    const msg = "the Rust target wasm32-unknown-unknown is not installed (./dev.sh deps installs it)";
    if (required()) throw new Error(msg);
    console.log(`SKIPPED: ${msg}`);
    return null;
  }
  execFileSync("cargo", ["build", "--quiet", "--locked", "--profile", "wasm", "--target",
    "wasm32-unknown-unknown", "-p", "wasm-engine"],
  { cwd: ROOT, stdio: "inherit", env: { ...process.env, CARGO_TARGET_DIR: TARGET } });
  return WASM;
}

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".html": "text/html; charset=utf-8", ".sid": "application/octet-stream" };

/** Starts the server; resolves { url, close }. Paths: /engine/* (web/js/engine + the wasm),
 *  /demo/*.sid, /test/* (files given in `extra`: name -> text), / (a bare page). */
export function serve(extra = {}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = null, body = null;
    if (path === "/") body = "<!doctype html><meta charset=utf-8><title>engine test</title><body>engine test</body>";
    else if (path === "/engine/sidflow_engine.wasm") file = WASM;
    else if (/^\/engine\/[\w-]+\.js$/.test(path)) file = join(ROOT, "web/js", path);
    else if (/^\/demo\/[\w-]+\.sid$/.test(path)) file = join(ROOT, path);
    else if (path.startsWith("/test/") && extra[path.slice(6)] !== undefined) body = extra[path.slice(6)];
    if (file && existsSync(file)) body = readFileSync(file);
    if (body === null) { res.writeHead(404).end("not found"); return; }
    res.writeHead(200, { "Content-Type": TYPES[extname(path)] || TYPES[".html"], "Cache-Control": "no-store" });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) });
  }));
}
