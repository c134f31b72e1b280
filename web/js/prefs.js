// Listener preferences: kept in localStorage, applied at once (theme before first paint
// by /boot.js). The Play panel reads them for every new session.
import { el } from "./api.js";

const KEY = "sidflow.prefs";
const DEFAULTS = { version: 1, mode: "auto", chip: "tune-6581", format: "mp3", subtunes: "one", radio: "any",
  theme: "system", engine: "default", level: "on" };
const subs = new Set();

export function loadPrefs() {
  try { return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || "{}") }; }
  catch { return { ...DEFAULTS }; }
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
          shell.toast(`${label}: ${text}`);
        } });
      fs.append(el("label", { for: `pref-${key}-${value}` }, input, text));
    }
    card.append(fs);
    if (key === "engine") engineNote(fs);
  }
  panel.append(card);
  return panel;
}

// What the box's engines can do right now (GET /api/engine): the box's choice named, a
// missing sidplayfp said and its option disabled.
async function engineNote(fs) {
  const note = el("p", { class: "muted", id: "engine-note" });
  fs.append(note);
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
