// Hardware vs software A/B on the now-playing card (issue 15). Both renderings of the song
// play side by side in two <audio> elements routed through one Web Audio graph, each with
// its own gain; a switch swaps the gains (no gap, no seek). The one not heard is kept in
// step with the heard one by seeks (it is silent). Both are rendered through the graph all
// the time: an element that is muted or at volume 0 is not sent to the sound card, and its
// clock then runs ~40 ms apart from a heard one's. The page's own <audio> keeps driving the
// player (time, seek, pause) at volume 0 while A/B is on.
// Levels are matched by the EBU R128 loudness the box measured for each rendering (the
// louder one is turned down to the quieter one). Loaded only when a song has both.
import { api } from "../api.js";

const SYNC_MS = 100; // how often the one not heard is checked against the heard one
const CLOSE = 0.015; // seconds: together (more apart, and the one not heard seeks)

const gain = (lufs, target) => (lufs == null || target == null ? 1 : Math.min(1, 10 ** ((target - lufs) / 20)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function element(id, src) {
  const e = document.getElementById(id) || document.body.appendChild(Object.assign(document.createElement("audio"), { id, preload: "auto" }));
  e.src = src;
  return e;
}

function ready(e) {
  if (e.readyState >= 3) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("a rendering did not load")), 20_000);
    e.addEventListener("canplay", () => { clearTimeout(t); resolve(); }, { once: true });
    e.addEventListener("error", () => { clearTimeout(t); reject(new Error("a rendering cannot be played")); }, { once: true });
  });
}

/**
 * Starts A/B for the track `tr` playing in `main` (the page's <audio>). `mine` lists the
 * song's cached variants (`/api/library/tune`). Resolves to a controller once both
 * renderings play in step, the current one heard: `{ toggle(), stop(), heard, labels, levels }`.
 */
export async function startAB({ main, tr, mine }) {
  const here = tr.variant;
  const otherPlatform = here.platform === "hardware" ? "software" : "hardware";
  const model = here.chip.startsWith("8580") ? "8580" : "6581";
  const pick = (platform) => mine.find((v) => v.platform === platform && v.chip === here.chip && v.format === tr.format)
    || mine.find((v) => v.platform === platform && v.chip === here.chip);
  const va = pick(here.platform), vb = pick(otherPlatform);
  const sess = await api("/api/play", { method: "POST",
    body: { path: tr.tune.path, song: tr.song, prefs: { mode: otherPlatform === "hardware" ? "hardware" : "software", chip: model, format: tr.format } } });
  if (sess.variant.platform !== otherPlatform || sess.wait) throw new Error(`no ${otherPlatform} rendering of this song now`);
  const la = va && va.loudness_lufs, lb = vb && vb.loudness_lufs;
  const target = la != null && lb != null ? Math.min(la, lb) : null;
  const levels = { a: gain(la, target), b: gain(lb, target) };
  const labels = { a: (va && va.sid) || here.platform, b: (vb && vb.sid) || otherPlatform };

  const a = element("audio-ab-a", main.currentSrc || main.src), b = element("audio-ab", sess.urls.audio);
  const ctx = new AudioContext();
  const ga = ctx.createGain(), gb = ctx.createGain();
  ga.gain.value = 0;
  gb.gain.value = 0;
  // What is heard also goes to a meter (the page can tell sound from silence).
  const meter = ctx.createAnalyser();
  meter.fftSize = 2048;
  const mix = ctx.createGain();
  mix.connect(ctx.destination);
  mix.connect(meter);
  ctx.createMediaElementSource(a).connect(ga).connect(mix);
  ctx.createMediaElementSource(b).connect(gb).connect(mix);
  await ctx.resume();
  await Promise.all([ready(a), ready(b)]);

  let heard = "a";
  const loud = () => (heard === "a" ? a : b);
  const quiet = () => (heard === "a" ? b : a);
  // How late a seek of a playing element lands, learnt from the seeks made.
  let lead = 0.05, sought = null;
  const place = (e, t) => { e.currentTime = t + (main.paused ? 0 : lead); sought = e; };
  const tick = () => {
    if (main.paused || a.seeking || b.seeking) return;
    const q = quiet(), d = q.currentTime - loud().currentTime;
    if (sought === q) lead = Math.max(0, Math.min(0.5, lead - d));
    sought = null;
    if (Math.abs(d) > CLOSE) place(q, loud().currentTime);
  };
  // Start: both where the page's element is; then the page's element goes silent and A is
  // heard in its place.
  const mainVolume = main.volume;
  a.currentTime = main.currentTime;
  b.currentTime = main.currentTime;
  if (!main.paused) await Promise.all([a.play(), b.play()]).catch(() => {});
  const timer = setInterval(tick, SYNC_MS);
  const apart = () => a.seeking || b.seeking || (!main.paused && Math.abs(a.currentTime - b.currentTime) > CLOSE);
  for (let i = 0; i < 250 && apart(); i++) await sleep(20);
  // A takes over from the page's element at the same place (seek A there first).
  if (!main.paused && Math.abs(a.currentTime - main.currentTime) > CLOSE) {
    place(a, main.currentTime);
    for (let i = 0; i < 100 && apart(); i++) await sleep(20);
  }
  ga.gain.value = levels.a;
  main.volume = 0;

  // The page's element drives: the listener's play, pause and seeks reach both.
  const follow = () => { a.currentTime = main.currentTime; b.currentTime = main.currentTime; };
  const on = [
    [main, "play", () => { a.play().catch(() => {}); b.play().catch(() => {}); }],
    [main, "pause", () => { a.pause(); b.pause(); }],
    [main, "seeked", follow],
  ];
  for (const [elm, type, fn] of on) elm.addEventListener(type, fn);
  return {
    labels,
    levels,
    get heard() { return heard; },
    /** The gains applied now (what is heard, and how loud). */
    gains: () => ({ a: ga.gain.value, b: gb.gain.value }),
    /** RMS of what is heard over the last 2048 samples, dBFS (-Infinity: silence). */
    level() {
      const x = new Float32Array(meter.fftSize);
      meter.getFloatTimeDomainData(x);
      let sum = 0;
      for (const v of x) sum += v * v;
      return 10 * Math.log10(sum / x.length);
    },
    lastSwitch: null,
    /** Swaps which rendering is heard at a moment the two are in step (within 1 s);
     * resolves to the one now heard ("a" or "b"). */
    async toggle() {
      let i = 0;
      for (; i < 50 && apart(); i++) await sleep(20);
      this.lastSwitch = { apart_ms: Math.round(1000 * (b.currentTime - a.currentTime)), waited_ms: 20 * i };
      heard = heard === "a" ? "b" : "a";
      // Both in the same render quantum.
      ga.gain.value = heard === "a" ? levels.a : 0;
      gb.gain.value = heard === "b" ? levels.b : 0;
      return heard;
    },
    stop() {
      clearInterval(timer);
      for (const [elm, type, fn] of on) elm.removeEventListener(type, fn);
      main.volume = mainVolume;
      for (const e of [a, b]) { e.pause(); e.removeAttribute("src"); e.load(); }
      ctx.close().catch(() => {});
    },
  };
}
