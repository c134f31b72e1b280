// Listener preferences: kept in localStorage, applied at once (theme before first paint
// by /boot.js). The Play panel reads them for every new session.
import { el } from "./api.js";

const KEY = "sidflow.prefs";
// What the in-browser engine needs (web/js/engine/player.js: EnginePlayer.supported()).
const engineOk = () => typeof WebAssembly === "object" && typeof Worker === "function"
  && typeof AudioContext === "function" && typeof AudioWorkletNode === "function" && typeof MessageChannel === "function";
// source: where the sound is made (js/play/player.js): "browser" (our engine in this page),
// "stream" (the box renders and streams), "lineout" (the box's speakers), "ultimate" (a C64).
const DEFAULTS = { version: 1, source: engineOk() ? "browser" : "stream", mode: "auto", chip: "tune-6581", format: "mp3",
  subtunes: "one", radio: "any", theme: "system", engine: "default", level: "on" };
const subs = new Set();

export function loadPrefs() {
  try {
    const p = JSON.parse(localStorage.getItem(KEY) || "{}");
    // The output choice before the source preference: "the box" was the line-out.
    if (!p.source && localStorage.getItem("sidflow.output") === "box") p.source = "lineout";
    return { ...DEFAULTS, ...p };
  } catch { return { ...DEFAULTS }; }
}

export function savePrefs(p) {
  localStorage.setItem(KEY, JSON.stringify(p));
  applyTheme(p.theme);
  for (const fn of subs) fn(p);
}

export function onPrefs(fn) { subs.add(fn); }

export function applyTheme(t) {
  if (t === "system") t = matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
  document.documentElement.dataset.theme = t;
}

const GROUPS = [
  ["source", "Playback", [["browser", "In this browser: our SID engine plays here, the box only sends the tune (tunes played once stay playable when the box is away)"],
    ["stream", "From the box: it renders the song and streams the audio"],
    ["lineout", "On the box's line-out (its own speakers)"],
    ["ultimate", "On a C64 Ultimate: its real SID plays it, you hear the C64"]]],
  ["mode", "Rendering", [["auto", "Hardware if available (a real C64's recording when one exists, else our software)"],
    ["hardware", "Hardware only (real C64 recordings)"]]],
  ["chip", "SID chip", [["tune-6581", "As the tune asks; 6581 when it does not say"],
    ["tune-8580", "As the tune asks; 8580 when it does not say"],
    ["6581", "Always 6581"], ["8580", "Always 8580"]]],
  ["engine", "Engine", [["default", "The box's choice"], ["sidflow", "SIDFlow (our own engine)"],
    ["sidplayfp", "sidplayfp (the reference player, when the box has it installed)"]]],
  ["level", "Level tunes out", [["on", "On: every song plays equally loud (from its measured loudness)"],
    ["off", "Off: every song as loud as it was rendered"]]],
  ["format", "Audio format", [["mp3", "MP3 (smallest, starts fastest)"], ["flac", "FLAC (lossless)"],
    ["wav", "WAV (uncompressed)"]]],
  ["subtunes", "Songs of a tune", [["one", "Play the chosen song, then the next in the queue"],
    ["all", "Play every song of a tune, then move on"]]],
  ["radio", "Radio", [["any", "Any song nobody disliked"], ["liked", "Only songs rated well (liked, or 4-5 stars)"]]],
  ["theme", "Theme", [["system", "Follow the system"], ["dark", "Dark"], ["light", "Light"],
    ["c64", "Commodore 64"]]],
];

export function prefsPanel(shell) {
  const panel = el("section", { class: "stack" });
  const card = el("div", { class: "card" }, el("h2", { text: "Preferences" }),
    el("p", { class: "muted", text: "Saved in this browser only." }));
  const p = loadPrefs();
  for (const [key, label, options] of GROUPS) {
    const fs = el("fieldset", {}, el("legend", { text: label }));
    for (const [value, text] of options) {
      const input = el("input", { type: "radio", name: `pref-${key}`, value, id: `pref-${key}-${value}`,
        checked: p[key] === value,
        onchange: () => {
          const cur = loadPrefs();
          cur[key] = value;
          savePrefs(cur);
          shell.toast(key === "source" ? `${label}: ${text.split(":")[0]}, from the next song` : `${label}: ${text}`);
        } });
      const why = key === "source" && value === "browser" && !engineOk() ? " (not possible in this browser: the box streams instead)" : "";
      fs.append(el("label", { for: `pref-${key}-${value}` }, input, text + why));
    }
    card.append(fs);
    // Asked when Preferences is first opened, not on the first screen.
    if (key === "engine") {
      fs.append(el("p", { class: "muted", id: "engine-note" }));
      panel.addEventListener("shown", () => engineNote(fs), { once: true });
    }
  }
  panel.append(card);
  // A choice made elsewhere (the Play panel's "Play on" switch) shows here too.
  onPrefs((cur) => {
    for (const input of card.querySelectorAll("input[type=radio]")) input.checked = cur[input.name.slice(5)] === input.value;
  });
  return panel;
}

// What the box's engines can do right now (GET /api/engine): the box's choice named, a
// missing sidplayfp said and its option disabled.
async function engineNote(fs) {
  const note = fs.querySelector("#engine-note");
  try {
    const r = await fetch("/api/engine", { credentials: "same-origin" });
    if (!r.ok) return;
    const e = await r.json();
    const sp = e.engines.find((x) => x.name === "sidplayfp");
    const input = fs.querySelector("#pref-engine-sidplayfp");
    if (sp && !sp.available && input) {
      input.disabled = true;
      if (input.checked) fs.querySelector("#pref-engine-default").checked = true;
    }
    note.textContent = `The box renders with ${e.default}${e.fallback ? ` (${e.fallback})` : ""}.`
      + (sp && !sp.available ? " sidplayfp is not installed on this box." : "");
  } catch { /* offline: the options stay as they are */ }
}
