// Listener preferences: kept in localStorage, applied at once (theme before first paint
// by /boot.js). The Play panel reads them for every new session.
import { el } from "./api.js";

const KEY = "sidflow.prefs";
const DEFAULTS = { version: 1, mode: "auto", chip: "tune-6581", format: "mp3", subtunes: "one", radio: "any",
  theme: "system" };
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
  }
  panel.append(card);
  return panel;
}
