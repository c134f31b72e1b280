// The listener's page: Play and Preferences.
import { createShell } from "./shell.js";
// Playback problems are reported once something plays (kept off the first screen's bytes).
document.addEventListener("play", () => import("./telemetry.js"), { capture: true, once: true });
import { playPanel } from "./play.js";
import { prefsPanel } from "./prefs.js";

const shell = createShell();
shell.add("play", "Play", playPanel(shell));
shell.add("prefs", "Preferences", prefsPanel(shell));
