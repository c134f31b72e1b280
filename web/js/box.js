// The output choice of the Play panel: "This browser" or "The box" (the box's own line-out,
// driven through /api/box). Shown only when the box has a working line-out. Shared by / and
// /admin through play.js. "The box" is the Preferences' playback source "lineout"; "This
// browser" goes back to the source chosen before it (in this browser, or from the box).
import { api, el, ApiError } from "./api.js";
import { loadPrefs, onPrefs, savePrefs } from "./prefs.js";

export function boxOutput(shell, { onState = () => {}, onSelect = () => {} } = {}) {
  let status = null;
  let selected = loadPrefs().source === "lineout";
  let timer = null;

  const mk = (value, label) => {
    const id = `output-${value}`;
    const input = el("input", { type: "radio", name: "output", id, value, onchange: () => select(value === "box", true) });
    return [input, el("label", { for: id, text: label })];
  };
  const [browserIn, browserLabel] = mk("browser", "This browser");
  const [boxIn, boxLabel] = mk("box", "The box");
  const choice = el("fieldset", { class: "output", id: "output", role: "radiogroup", "aria-label": "Play on" },
    el("legend", { text: "Play on" }), browserIn, browserLabel, boxIn, boxLabel);

  const volume = el("input", { type: "range", min: "0", max: "100", step: "1", value: "80", id: "box-volume",
    "aria-label": "Volume of the box", "aria-valuetext": "80 %" });
  const stopBtn = el("button", { class: "btn", id: "box-stop", text: "Stop", "aria-label": "Stop the box",
    onclick: () => command("stop") });
  const info = el("span", { class: "muted", id: "box-info", role: "status", "aria-live": "polite" });
  const controls = el("div", { class: "row", id: "box-controls", hidden: true },
    stopBtn, el("label", { for: "box-volume", text: "Volume" }), volume, info);
  const root = el("div", { class: "box-output", id: "box-output", hidden: true }, choice, controls);

  function show(s) {
    status = s;
    if (!s.available) { root.hidden = true; if (selected) select(false); return; }
    root.hidden = false;
    if (document.activeElement !== volume) {
      volume.value = String(s.volume);
      volume.setAttribute("aria-valuetext", `${s.volume} %`);
    }
    const what = s.track ? `${s.track.title}${s.track.author ? ` by ${s.track.author}` : ""}` : (s.now_playing || "nothing");
    info.textContent = s.state === "idle" ? "The box is idle." : `The box is ${s.state}: ${what}`;
    if (selected) onState(s);
  }

  async function refresh() {
    try { show(await api("/api/box")); } catch { /* the offline banner says it */ }
  }

  // `save`: the listener chose here (the preference follows); otherwise the preference
  // changed, or the line-out went away (the preference stays for when it is back).
  function select(box, save = false) {
    selected = box && !!status?.available;
    const p = loadPrefs();
    if (save && selected && p.source !== "lineout") savePrefs({ ...p, source: "lineout", before: p.source });
    else if (save && !box && p.source === "lineout") {
      savePrefs({ ...p, source: ["browser", "stream", "ultimate"].includes(p.before) ? p.before : "browser" });
    }
    browserIn.checked = !selected;
    boxIn.checked = selected;
    controls.hidden = !selected;
    clearInterval(timer);
    if (selected) { timer = setInterval(refresh, 2000); refresh(); }
    onSelect(selected);
  }

  async function command(action, body = {}) {
    try { show(await api(`/api/box/${action}`, { method: "POST", body })); }
    catch (e) { shell.error(`The box did not ${action}: ${e.message}`); }
  }

  volume.addEventListener("input", () => volume.setAttribute("aria-valuetext", `${volume.value} %`));
  volume.addEventListener("change", () => command("volume", { volume: Number(volume.value) }));


  let started = false;
  let ready = null;
  return {
    /** Resolves once the box's status is known (after start()). */
    ready: () => ready || Promise.resolve(),
    // Called after the first screen: the output choice is not needed to start.
    start() {
      if (started) return;
      started = true;
      ready = refresh().then(() => select(loadPrefs().source === "lineout"));
      onPrefs((p) => {
        const want = p.source === "lineout";
        if (want !== selected && (!want || status?.available)) select(want);
      });
      import("./events.js").then(({ onEvent }) => onEvent("box", () => { if (selected) refresh(); }));
    },
    el: root,
    active: () => selected,
    status: () => status,
    async play(tune, song, prefs) {
      try {
        const r = await api("/api/box/play", { method: "POST", body: { path: tune.path, song, prefs } });
        await refresh();
        return r.track;
      } catch (e) {
        shell.error(e instanceof ApiError && e.status === 409 ? e.message : `The box cannot play ${tune.title}: ${e.message}`);
        return null;
      }
    },
    async playDevice(id) {
      try {
        const r = await api("/api/box/play", { method: "POST", body: { device: id } });
        await refresh();
        return r.track;
      } catch (e) { shell.error(`The box cannot play the C64 live: ${e.message}`); return null; }
    },
    toggle() { return command(status?.state === "playing" ? "pause" : "resume"); },
    next() { return command("next"); },
  };
}
