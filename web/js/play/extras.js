// What the Play panel needs only after its first screen: the lock screen and headset keys
// (Media Session: metadata with the tune's cover, actions, position) and the keyboard
// shortcuts dialog.
import { el } from "../api.js";
import { coverURL } from "./cover.js";

const SHORTCUTS = [["Space", "Play or pause"], ["← / →", "Back or ahead 5 seconds"], ["N / P", "Next or previous in the queue"],
  ["L", "Like (again: take it back)"], ["/", "Search the library"], ["?", "This list"], ["Esc", "Close a dialog"]];

export function createExtras({ player, queue }) {
  const ms = navigator.mediaSession;
  if (ms) {
    const on = (a, fn) => { try { ms.setActionHandler(a, fn); } catch { /* not supported here */ } };
    on("play", () => player.play());
    on("pause", () => player.pause());
    on("nexttrack", () => queue.step(1));
    on("previoustrack", () => queue.step(-1));
    on("seekto", (d) => player.seek(d.seekTime));
    on("seekbackward", (d) => player.seek(player.time - (d.seekOffset || 10)));
    on("seekforward", (d) => player.seek(player.time + (d.seekOffset || 10)));
  }
  const x = {
    track(tr) {
      if (!ms || !window.MediaMetadata || player.track !== tr) return;
      ms.metadata = new MediaMetadata({ title: tr.tune.title || tr.tune.path, artist: tr.tune.author || "",
        album: [tr.tune.released, tr.tune.songs > 1 ? `song ${tr.song} of ${tr.tune.songs}` : null].filter(Boolean).join(" · "),
        artwork: [{ src: coverURL(tr.tune, 256), sizes: "256x256", type: "image/png" }] });
    },
    state(playing) { if (ms) ms.playbackState = playing ? "playing" : "paused"; },
    position(now, duration) {
      if (!ms || !ms.setPositionState || !isFinite(duration) || duration <= 0) return;
      try { ms.setPositionState({ duration, position: Math.min(now, duration), playbackRate: 1 }); } catch { /* ignore */ }
    },
    help() {
      const dlg = document.getElementById("shortcuts") || document.body.appendChild(el("dialog", { id: "shortcuts", class: "card dialog",
        "aria-labelledby": "shortcuts-h" }, el("h2", { id: "shortcuts-h", text: "Keyboard shortcuts" }),
        el("table", {}, el("tbody", {}, ...SHORTCUTS.map(([k, what]) => el("tr", {}, el("th", {}, el("kbd", { text: k })), el("td", { text: what }))))),
        el("form", { method: "dialog", class: "row end" }, el("button", { class: "btn primary", text: "Close" }))));
      dlg.showModal();
    },
  };
  if (player.track) { x.track(player.track); x.state(!player.paused); }
  return x;
}
