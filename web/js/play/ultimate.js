// Playback source "ultimate": the song plays on a C64 Ultimate of the network, on its own SID
// (POST /api/devices/ID/play); the sound comes out of the C64, not this page. The box only
// uploads the tune. There is no position from the device: the page counts the song's length
// and moves on when it is over. The device cannot be paused or sought from here.
import { api } from "../api.js";
import { Handoff } from "./browser.js";

const DEVICE_KEY = "sidflow.device";
const LENGTH_KEY = "sidflow.defaultSongMs";

export function createUltimateSource() {
  const subs = new Map();
  const emit = (type, data) => { for (const fn of subs.get(type) || []) fn(data); };
  let started = 0, length = NaN, playing = false, timer = null, device = null;

  function tick() {
    const t = (Date.now() - started) / 1000;
    emit("time", { time: Math.min(t, length), duration: length });
    if (t >= length) { stop(); emit("ended"); }
  }
  function stop() { clearInterval(timer); timer = null; if (playing) { playing = false; emit("state", { playing: false }); } }

  async function load(tune, song) {
    let online = [];
    try { online = (await api("/api/devices")).devices.filter((d) => d.online); }
    catch (e) { if (e.status !== 0) throw e; throw new Handoff("The box cannot be reached to find a C64 Ultimate.", null); }
    if (!online.length) throw new Handoff("No C64 Ultimate is online: playing from the box instead.", null);
    const d = online.find((x) => x.id === localStorage.getItem(DEVICE_KEY)) || online[0];
    try {
      await api(`/api/devices/${encodeURIComponent(d.id)}/play`, { method: "POST", body: { path: tune.path, song } });
    } catch (e) {
      if (e.status === 429) throw e;
      throw new Handoff(`The C64 Ultimate ${d.name || d.id} did not start (${e.message}): playing from the box instead.`, null);
    }
    stop();
    device = d;
    length = ((tune.durations_ms && tune.durations_ms[song - 1]) || Number(localStorage.getItem(LENGTH_KEY)) || 180_000) / 1000;
    started = Date.now();
    playing = true;
    emit("state", { playing: true });
    timer = setInterval(tick, 500);
    return { tune, song, format: "c64", session: null, device: d,
      variant: { platform: "hardware", chip: d.product || "C64 Ultimate", format: "c64", cached: false }, duration: length };
  }

  return {
    name: "ultimate",
    canSeek: false,
    load,
    play() { if (!playing) emit("note", "The C64 Ultimate plays the song from its start: choose it again to restart it."); },
    pause() { if (playing) emit("note", `${device?.name || "The C64 Ultimate"} plays on: it cannot be paused from here (Next moves on).`); },
    seek() {},
    stop,
    get time() { return started ? Math.min((Date.now() - started) / 1000, length) : 0; },
    get duration() { return length; },
    get paused() { return !playing; },
    get device() { return device; },
    on(type, fn) { if (!subs.has(type)) subs.set(type, new Set()); subs.get(type).add(fn); },
  };
}
