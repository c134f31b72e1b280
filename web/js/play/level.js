// Levelling: every song plays at the gain its measured loudness asks for (the box measures
// each render, EBU R128, and says "gain_db": to -18 LUFS, true peak at most -1 dBTP), so the
// radio does not jump between a quiet tune and a loud one, and a C64's recording of a song
// plays as loud as its software render. Preference "Level tunes out" (on by default).
//
// The page's <audio> goes through ONE Web Audio graph: element -> gain -> speakers (a gain
// above 0 dB needs Web Audio; the element's volume stops at 1). The graph is made on the
// first song and kept (an element can be connected only once); the spectrum view
// (./visual.js) taps it after the gain. Without Web Audio the element's volume does what
// it can (turning down only).

let graph = null;
let wanted = 0; // dB

/** The page's graph for `audio` (made on the first call): {ctx, source, gain}, or null. */
export function levelGraph(audio) {
  if (graph || !window.AudioContext) return graph;
  try {
    const ctx = new AudioContext();
    const source = ctx.createMediaElementSource(audio);
    const gain = ctx.createGain();
    source.connect(gain).connect(ctx.destination);
    // A context made before the listener touched the page starts suspended: it goes on with
    // the audio.
    const resume = () => { if (ctx.state !== "running") ctx.resume().catch(() => {}); };
    audio.addEventListener("play", resume);
    audio.addEventListener("playing", resume);
    resume();
    graph = { ctx, source, gain, audio };
  } catch {
    graph = null;
  }
  return graph;
}

/**
 * Plays `audio` at `db` (0 for a song whose loudness is not known yet, or with levelling
 * off). `glide`: reach it smoothly over about a second (an estimate that improves while the
 * song renders) instead of at once (a new song).
 */
export function setLevel(audio, db, { glide = false } = {}) {
  wanted = Number.isFinite(db) ? Math.max(-40, Math.min(20, db)) : 0;
  const g = levelGraph(audio);
  const linear = 10 ** (wanted / 20);
  if (g) {
    const now = g.ctx.currentTime;
    g.gain.gain.cancelScheduledValues(now);
    if (glide) g.gain.gain.setTargetAtTime(linear, now, 0.3);
    else g.gain.gain.setValueAtTime(linear, now);
    audio.volume = 1;
  } else {
    audio.volume = Math.min(1, linear);
  }
  audio.dataset.levelDb = wanted.toFixed(2);
}

/** The gain in force, dB (what setLevel was last asked for). */
export function currentLevel() { return wanted; }
