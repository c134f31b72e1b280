// The listener's page: Play and Preferences.
import { createShell } from "./shell.js";
import "./telemetry.js";
import { playPanel } from "./play.js";
import { prefsPanel } from "./prefs.js";

const shell = createShell();
shell.add("play", "Play", playPanel(shell));
shell.add("prefs", "Preferences", prefsPanel(shell));
