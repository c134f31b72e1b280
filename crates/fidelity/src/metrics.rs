//! The corpus metric of `shared/tools/fidelity-compare.py`, ported exactly:
//!
//! * both renders become mono (mean of the channels);
//! * **align**: 1 ms RMS envelopes in dB (floor 1e-4), mean removed; the lag in -500..=500 ms
//!   whose dot product over the overlap is largest (first such lag) shifts the first render
//!   (`k = trunc(lag * rate / 1000)` samples: dropped when `k > 0`, zeros prepended when
//!   `k < 0`);
//! * **env60**: 20 ms RMS envelopes in dB (floor 1e-3 = -60 dBFS); the best Pearson
//!   correlation over frame offsets -2..=2.
//!
//! A render is "within the reference's spread" when its env60 against the reference is
//! at least 0.95, or at least (the reference's own env60 at another power-on delay) - 0.05.

/// Interleaved i16 samples to mono f64 (mean of the channels).
pub fn mono(pcm: &[i16], channels: usize) -> Vec<f64> {
    let ch = channels.max(1);
    pcm.chunks_exact(ch)
        .map(|f| f.iter().map(|&s| f64::from(s)).sum::<f64>() / ch as f64)
        .collect()
}

/// RMS envelope in dB of full scale, one value per `frame_s` seconds.
pub fn envelope(a: &[f64], rate: u32, frame_s: f64, floor: f64) -> Vec<f64> {
    let hop = ((f64::from(rate) * frame_s) as usize).max(1);
    a.chunks_exact(hop)
        .map(|c| {
            let e = (c.iter().map(|x| x * x).sum::<f64>() / hop as f64).sqrt();
            20.0 * (e / 32768.0 + floor).log10()
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The lag (ms) that best aligns `a` to `b`, as the script finds it.
pub fn best_lag_ms(a: &[f64], ra: u32, b: &[f64], rb: u32) -> i64 {
    let ea = envelope(a, ra, 0.001, 1e-4);
    let eb = envelope(b, rb, 0.001, 1e-4);
    let n = ea.len().min(eb.len()) as i64 - 1000;
    if n <= 0 {
        return 0;
    }
    let n = n as usize;
    let (ma, mb) = (mean(&ea), mean(&eb));
    let ea: Vec<f64> = ea.iter().map(|x| x - ma).collect();
    let eb: Vec<f64> = eb.iter().map(|x| x - mb).collect();
    let mut best = (f64::NEG_INFINITY, 0i64);
    for lag in -500i64..=500 {
        let s = (500 + lag) as usize;
        let dot: f64 = ea[s..s + n]
            .iter()
            .zip(&eb[500..500 + n])
            .map(|(x, y)| x * y)
            .sum();
        if dot > best.0 {
            best = (dot, lag);
        }
    }
    best.1
}

/// `a` shifted by the best lag so that it lines up with `b`.
pub fn align(a: &[f64], ra: u32, b: &[f64], rb: u32) -> Vec<f64> {
    let lag = best_lag_ms(a, ra, b, rb);
    let k = (lag as f64 * f64::from(ra) / 1000.0) as i64;
    if k >= 0 {
        a[(k as usize).min(a.len())..].to_vec()
    } else {
        let mut v = vec![0.0; (-k) as usize];
        v.extend_from_slice(a);
        v
    }
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let n = x.len() as f64;
    // the script requires both standard deviations above 1e-9
    if (sxx / n).sqrt() <= 1e-9 || (syy / n).sqrt() <= 1e-9 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// The env60 agreement of render `a` with reference `b` (mono f64 at their rates).
pub fn env60(a: &[f64], ra: u32, b: &[f64], rb: u32) -> f64 {
    let a = align(a, ra, b, rb);
    let x = envelope(&a, ra, 0.02, 1e-3);
    let y = envelope(b, rb, 0.02, 1e-3);
    let mut best = -1.0f64;
    for l in -2i64..=2 {
        let (xa, ya) = if l >= 0 {
            (&x[(l as usize).min(x.len())..], &y[..])
        } else {
            (&x[..], &y[((-l) as usize).min(y.len())..])
        };
        let n = xa.len().min(ya.len());
        if n > 10 {
            if let Some(r) = pearson(&xa[..n], &ya[..n]) {
                best = best.max(r);
            }
        }
    }
    best
}

/// The script's verdict.
pub fn within_spread(ours: f64, spread: f64) -> bool {
    ours >= 0.95 || ours >= spread - 0.05
}

/// RMS level of a signal in dB of full scale (`-inf` for silence).
pub fn rms_dbfs(a: &[f64]) -> f64 {
    if a.is_empty() {
        return f64::NEG_INFINITY;
    }
    let e = (a.iter().map(|x| x * x).sum::<f64>() / a.len() as f64).sqrt();
    20.0 * (e / 32768.0).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, secs: f64, f: impl Fn(f64) -> f64) -> Vec<f64> {
        (0..(f64::from(rate) * secs) as usize)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                f(t) * (2.0 * std::f64::consts::PI * 440.0 * t).sin() * 8000.0
            })
            .collect()
    }

    #[test]
    fn identical_renders_agree_and_a_shift_is_found() {
        let rate = 44_100;
        // an irregular rhythm (no period within the +-500 ms search)
        let gate = |t: f64| {
            if (t * 7.3).sin() + (t * 3.1).sin() > 0.3 {
                1.0
            } else {
                0.1
            }
        };
        let a = tone(rate, 4.0, gate);
        assert!((env60(&a, rate, &a, rate) - 1.0).abs() < 1e-9);
        // a 120 ms head start is aligned away
        let long = tone(rate, 16.0, gate);
        let shifted = tone(rate, 16.0, |t| gate(t + 0.12));
        assert_eq!(best_lag_ms(&shifted, rate, &long, rate), -120);
        // (the 120 ms of silence put in front cost a little)
        let e = env60(&shifted, rate, &long, rate);
        assert!(e > 0.9, "{e}");
        // a different rhythm does not agree
        let other = tone(
            rate,
            4.0,
            |t| if (t * 5.3).fract() < 0.5 { 1.0 } else { 0.05 },
        );
        assert!(env60(&other, rate, &a, rate) < 0.5);
    }

    #[test]
    fn verdict() {
        assert!(within_spread(0.96, 1.0));
        assert!(within_spread(0.70, 0.74));
        assert!(!within_spread(0.60, 0.80));
    }
}
