// Runs render jobs on the WebAssembly engine through web/js/engine/engine.js (the page's own
// wrapper) and writes what it made, for crates/wasm-engine/tests/identical.rs to compare with
// the native renderer.
//   node jobs.mjs <sidflow_engine.wasm> <jobs.json> <out-dir>
// jobs.json: [{ id, path, song, chip, video, sampleRate, quality, lengthMs,
//               ops: [["render", frames] | ["seek", frame], ...] }]
// For each job: <id>.pcm (f32 LE, frames interleaved by channel, every render op in turn),
// <id>.voices (the voice bytes after every op), <id>.json ({ info, positions } or { error }).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SidEngine } from "../../../../web/js/engine/engine.js";

const [wasmPath, jobsPath, outDir] = process.argv.slice(2);
const engine = await SidEngine.create(readFileSync(wasmPath));
const jobs = JSON.parse(readFileSync(jobsPath, "utf8"));
for (const job of jobs) {
  const pcm = [], voices = [], positions = [];
  let result;
  try {
    const info = engine.load(readFileSync(job.path), job);
    for (const [op, arg] of job.ops) {
      if (op === "seek") {
        positions.push(engine.seek(arg));
      } else {
        let left = arg;
        while (left > 0) {
          const ch = engine.render(Math.min(left, 4096));
          if (ch.length === 0) break;
          const n = ch[0].length, buf = new Float32Array(n * ch.length);
          for (let c = 0; c < ch.length; c++) for (let i = 0; i < n; i++) buf[i * ch.length + c] = ch[c][i];
          pcm.push(Buffer.from(buf.buffer));
          left -= n;
        }
        positions.push(engine.position());
      }
      voices.push(Buffer.from(engine.voiceBytes()));
    }
    result = { info, positions };
  } catch (e) {
    result = { error: String(e.message ?? e) };
  }
  writeFileSync(join(outDir, `${job.id}.pcm`), Buffer.concat(pcm));
  writeFileSync(join(outDir, `${job.id}.voices`), Buffer.concat(voices));
  writeFileSync(join(outDir, `${job.id}.json`), JSON.stringify(result));
}
