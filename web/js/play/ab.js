// Hardware vs software A/B on the now-playing card (issue 15): the other rendering of the
// same song plays alongside, muted and kept at the same position, so a switch is a swap of
// which one is heard: no gap, no seek. Levels are matched by the EBU R128 loudness the box
// measured for each rendering (the louder one is turned down to the quieter one).
// Loaded only when a song has both renderings.
import { api } from "../api.js";

const SYNC_MS = 200; // how often the hidden one is checked against the heard one
const DRIFT = 0.03; // seconds: more than this and the hidden one is put back in place

const gain = (lufs, target) => (lufs == null || target == null ? 1 : Math.min(1, 10 ** ((target - lufs) / 20)));

/**
 * Starts A/B for the track `tr` playing in `main` (the page's <audio>). `mine` lists the
 * song's cached variants (`/api/library/tune`). Resolves to a controller once the other
 * rendering is ready at the same place: `{ toggle(), stop(), heard, labels, levels }`.
 */
export async function startAB({ main, tr, mine }) {
  const here = tr.variant;
  const otherPlatform = here.platform === "hardware" ? "software" : "hardware";
  const model = here.chip.startsWith("8580") ? "8580" : "6581";
  const pick = (platform) => mine.find((v) => v.platform === platform && v.chip === here.chip && v.format === tr.format)
    || mine.find((v) => v.platform === platform && v.chip === here.chip);
  const a = pick(here.platform), b = pick(otherPlatform);
  const sess = await api("/api/play", { method: "POST",
    body: { path: tr.tune.path, song: tr.song, prefs: { mode: otherPlatform === "hardware" ? "hardware" : "software", chip: model, format: tr.format } } });
  if (sess.variant.platform !== otherPlatform || sess.wait) throw new Error(`no ${otherPlatform} rendering of this song now`);
  const other = document.getElementById("audio-ab") || document.body.appendChild(Object.assign(document.createElement("audio"), { id: "audio-ab", preload: "auto" }));
  other.muted = true;
  other.src = sess.urls.audio;
  const la = a && a.loudness_lufs, lb = b && b.loudness_lufs;
  const target = la != null && lb != null ? Math.min(la, lb) : null;
  const levels = { a: gain(la, target), b: gain(lb, target) };
  const labels = { a: (a && a.sid) || here.platform, b: (b && b.sid) || otherPlatform };
  const mainVolume = main.volume;
  main.volume = levels.a;
  other.volume = levels.b;
  let heard = "a";
  const loud = () => (heard === "a" ? main : other);
  const quiet = () => (heard === "a" ? other : main);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the other rendering did not load")), 20_000);
    other.addEventListener("canplay", () => { clearTimeout(t); resolve(); }, { once: true });
    other.addEventListener("error", () => { clearTimeout(t); reject(new Error("the other rendering cannot be played")); }, { once: true });
  });
  const align = () => { other.currentTime = main.currentTime; };
  align();
  if (!main.paused) await other.play().catch(() => {});
  // The heard element drives; the hidden one follows (play, pause, seek, and drift).
  const on = [
    [main, "play", () => { if (other.paused) other.play().catch(() => {}); }],
    [main, "pause", () => other.pause()],
    [main, "seeked", align],
    [main, "ratechange", () => { other.playbackRate = main.playbackRate; }],
  ];
  for (const [elm, type, fn] of on) elm.addEventListener(type, fn);
  const timer = setInterval(() => {
    if (main.paused || other.seeking || main.seeking) return;
    if (Math.abs(other.currentTime - main.currentTime) > DRIFT) quiet() === main ? (main.currentTime = other.currentTime) : align();
  }, SYNC_MS);
  return {
    labels,
    levels,
    get heard() { return heard; },
    other,
    /** Swaps which rendering is heard; returns the one now heard ("a" or "b"). */
    toggle() {
      if (Math.abs(other.currentTime - main.currentTime) > DRIFT) align();
      heard = heard === "a" ? "b" : "a";
      loud().muted = false;
      quiet().muted = true;
      return heard;
    },
    stop() {
      clearInterval(timer);
      for (const [elm, type, fn] of on) elm.removeEventListener(type, fn);
      main.muted = false;
      main.volume = mainVolume;
      other.pause();
      other.removeAttribute("src");
      other.load();
    },
  };
}
