//! The WebAssembly engine, run by Node.js through the page's own wrapper
//! (`web/js/engine/engine.js`), makes exactly the native renderer's PCM: every demo tune
//! (every song) and every tune of the HVSC corpus, sample for sample, at 44.1 and 48 kHz,
//! with both sampling qualities, forced chips and clocks; and with seeks (exact and
//! fast-forward) it matches the native engine op for op, voices included.
//!
//! Cost is bounded: a few seconds of audio per song (about 6 minutes of audio in all).

mod common;

use render::{Chip, RenderOptions, Renderer, SamplingQuality, VideoStandard};
use sidflow_engine::{Engine, LoadOptions};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum Op {
    Render(u64),
    Seek(u64),
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    path: PathBuf,
    song: u16,
    chip: Option<Chip>,
    video: Option<VideoStandard>,
    rate: u32,
    quality: SamplingQuality,
    length_ms: u64,
    ops: Vec<Op>,
    /// Compare with the native engine (seeks, voices) rather than the renderer alone.
    via_engine: bool,
}

/// Frames per render call, as `jobs.mjs` makes them (snapshots depend on call boundaries).
const CALL: u64 = 4096;

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn jobs_json(jobs: &[Job]) -> String {
    let mut s = String::from("[");
    for (i, j) in jobs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let ops: Vec<String> = j
            .ops
            .iter()
            .map(|o| match o {
                Op::Render(n) => format!("[\"render\",{n}]"),
                Op::Seek(f) => format!("[\"seek\",{f}]"),
            })
            .collect();
        let _ = write!(
            s,
            "{{\"id\":{},\"path\":{},\"song\":{},\"chip\":{},\"video\":{},\"sampleRate\":{},\
             \"quality\":\"{}\",\"lengthMs\":{},\"ops\":[{}]}}",
            json_str(&j.id),
            json_str(&j.path.to_string_lossy()),
            j.song,
            match j.chip {
                None => "null",
                Some(Chip::Mos6581) => "\"6581\"",
                Some(Chip::Mos8580) => "\"8580\"",
            },
            match j.video {
                None => "null",
                Some(VideoStandard::Pal) => "\"pal\"",
                Some(VideoStandard::Ntsc) => "\"ntsc\"",
            },
            j.rate,
            match j.quality {
                SamplingQuality::High => "high",
                SamplingQuality::Fast => "fast",
            },
            j.length_ms,
            ops.join(",")
        );
    }
    s.push(']');
    s
}

/// What the native side makes for a job: PCM, voice bytes after each op, positions.
struct Native {
    pcm: Vec<i16>,
    voices: Vec<u8>,
    positions: Vec<u64>,
}

fn native(job: &Job, bytes: &[u8]) -> Result<Native, String> {
    if !job.via_engine {
        // The box's renderer, exactly as `sidflowd render --seconds --rate [--chip --clock
        // --quality]` sets it up.
        let tune = sidfile::SidTune::parse_lenient(bytes).map_err(|e| e.to_string())?;
        let o = RenderOptions {
            song: (job.song > 0).then_some(job.song),
            chip: job.chip,
            video: job.video,
            sample_rate: job.rate,
            quality: job.quality,
            length: Some(Duration::from_millis(job.length_ms)),
            ..RenderOptions::default()
        };
        let mut r = Renderer::new(&tune, &o).map_err(|e| e.to_string())?;
        let pcm = r.render_to_end().map_err(|e| e.to_string())?;
        return Ok(Native {
            positions: vec![r.frames_done()],
            pcm,
            voices: Vec::new(),
        });
    }
    let mut e = Engine::new();
    let l = e
        .load(
            bytes,
            &LoadOptions {
                song: (job.song > 0).then_some(job.song),
                chip: job.chip,
                video: job.video,
                sample_rate: job.rate,
                quality: job.quality,
                length: Some(Duration::from_millis(job.length_ms)),
            },
        )
        .map_err(|e| e.to_string())?;
    let ch = l.channels;
    let mut out = Native {
        pcm: Vec::new(),
        voices: Vec::new(),
        positions: Vec::new(),
    };
    for op in &job.ops {
        match *op {
            Op::Seek(f) => out.positions.push(e.seek(f).map_err(|e| e.to_string())?),
            Op::Render(mut left) => {
                while left > 0 {
                    let n = e
                        .render(left.min(CALL) as usize)
                        .map_err(|e| e.to_string())?;
                    if n == 0 {
                        break;
                    }
                    let o = e.output();
                    for i in 0..n {
                        for c in 0..ch {
                            // Back to the renderer's 16 bits (exact: the engine divides by 2^15).
                            out.pcm.push((o[c * e.stride() + i] * 32_768.0) as i16);
                        }
                    }
                    left -= n as u64;
                }
                out.positions.push(e.position());
            }
        }
        out.voices.extend_from_slice(e.voices());
    }
    Ok(out)
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn jobs() -> Vec<Job> {
    let mut tunes: Vec<(String, PathBuf, bool)> = common::demo_tunes()
        .into_iter()
        .map(|p| {
            (
                format!("demo-{}", p.file_stem().unwrap().to_string_lossy()),
                p,
                true,
            )
        })
        .collect();
    assert!(tunes.len() >= 10, "the demo tunes are missing");
    if let Some(c) = testdata::corpus() {
        assert!(c.tunes.len() >= 80, "the corpus is incomplete");
        for t in &c.tunes {
            tunes.push((format!("hvsc-{}", t.name), t.path.clone(), false));
        }
    }
    let mut jobs = Vec::new();
    for (i, (name, path, demo)) in tunes.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let songs = sidfile::SidTune::parse_lenient(&bytes).map_or(1, |t| t.songs);
        // Demo tunes: every song (4 s). Corpus: the start song (3 s) and, for multi-song
        // tunes, the last song (2 s) too.
        let mut plan: Vec<(u16, u64)> = if *demo {
            (1..=songs).map(|s| (s, 4_000)).collect()
        } else {
            vec![(0, 3_000)]
        };
        if !*demo && songs > 1 {
            plan.push((songs, 2_000));
        }
        for (k, (song, ms)) in plan.into_iter().enumerate() {
            let n = i * 3 + k;
            let rate = if n % 2 == 0 { 48_000 } else { 44_100 };
            let frames = ms * u64::from(rate) / 1000;
            jobs.push(Job {
                id: format!("{name}-{song}"),
                path: path.clone(),
                song,
                chip: match n % 5 {
                    1 => Some(Chip::Mos8580),
                    3 => Some(Chip::Mos6581),
                    _ => None,
                },
                video: (n % 11 == 4).then_some(VideoStandard::Ntsc),
                rate,
                quality: if n % 7 == 2 {
                    SamplingQuality::Fast
                } else {
                    SamplingQuality::High
                },
                length_ms: ms,
                ops: vec![Op::Render(frames)],
                via_engine: false,
            });
        }
        // Seeks through the engine: every demo tune and every fourth corpus tune.
        if *demo || i % 4 == 0 {
            let rate: u64 = if i % 2 == 0 { 48_000 } else { 44_100 };
            let s = |ms: u64| ms * rate / 1000;
            jobs.push(Job {
                id: format!("{name}-seeks"),
                path: path.clone(),
                song: 0,
                chip: None,
                video: None,
                rate: rate as u32,
                quality: SamplingQuality::High,
                length_ms: 60_000,
                ops: vec![
                    Op::Render(s(3_500)), // a snapshot at 3 s
                    Op::Seek(s(9_000)),   // far ahead: fast-forward
                    Op::Render(s(500)),
                    Op::Seek(s(3_250)), // back: the 3 s snapshot, rendered on exactly
                    Op::Render(s(500)),
                    Op::Seek(s(4_500)), // just ahead: rendered on exactly
                    Op::Render(s(300)),
                ],
                via_engine: true,
            });
        }
    }
    jobs
}

#[test]
fn wasm_engine_output_equals_the_native_renderer() {
    let Some(wasm) = common::wasm_module() else {
        return;
    };
    let Some(node) = common::node() else { return };
    let jobs = jobs();
    let dir = std::env::temp_dir().join(format!("sidflow-wasm-identical-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("jobs.json");
    std::fs::write(&spec, jobs_json(&jobs)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/jobs.mjs");
    // Node renders while this thread renders natively (two cores).
    let child = Command::new(node)
        .arg(&script)
        .arg(&wasm)
        .arg(&spec)
        .arg(&dir)
        .spawn()
        .expect("start node");
    let natives: Vec<(Job, Result<Native, String>)> = jobs
        .iter()
        .map(|j| (j.clone(), native(j, &std::fs::read(&j.path).unwrap())))
        .collect();
    let status = child.wait_with_output().expect("node").status;
    assert!(status.success(), "node jobs.mjs failed: {status}");

    let (mut samples, mut audible, mut refused) = (0usize, 0usize, 0usize);
    for (job, want) in &natives {
        let read = |ext: &str| std::fs::read(dir.join(format!("{}.{ext}", job.id))).unwrap();
        let result: serde_json::Value = serde_json::from_slice(&read("json")).unwrap();
        match want {
            Err(msg) => {
                assert_eq!(
                    result["error"].as_str(),
                    Some(msg.as_str()),
                    "{}: native refused it; wasm said {result}",
                    job.id
                );
                refused += 1;
            }
            Ok(want) => {
                assert!(
                    result.get("error").is_none(),
                    "{}: wasm failed: {result}",
                    job.id
                );
                let got = f32s(&read("pcm"));
                assert_eq!(got.len(), want.pcm.len(), "{}: sample count", job.id);
                for (k, (g, w)) in got.iter().zip(&want.pcm).enumerate() {
                    // Bit for bit: the engine's float is the renderer's sample / 2^15.
                    assert!(
                        g.to_bits() == (f32::from(*w) / 32_768.0).to_bits(),
                        "{}: sample {k} differs: wasm {} native {w}",
                        job.id,
                        g * 32_768.0
                    );
                }
                let positions: Vec<u64> = result["positions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as u64)
                    .collect();
                assert_eq!(positions, want.positions, "{}: positions", job.id);
                if job.via_engine {
                    assert_eq!(read("voices"), want.voices, "{}: voice data", job.id);
                }
                samples += got.len();
                if want.pcm.iter().any(|s| s.unsigned_abs() > 300) {
                    audible += 1;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{} jobs: {samples} samples identical, {audible} audible, {refused} refused by both",
        natives.len()
    );
    // The comparison means something only if the tunes make sound in the rendered span.
    assert!(
        audible * 10 >= (natives.len() - refused) * 9,
        "only {audible} of {} jobs are audible",
        natives.len() - refused
    );
}
