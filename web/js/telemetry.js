// Playback problems, reported to the box (POST /api/telemetry) so the operator's Status tab
// counts what listeners hit: decode errors, stalls and underruns of any <audio> on the page
// (listened for on the document, in the capture phase: media events do not bubble), and
// whatever other code reports with `report(kind, detail)` (the in-browser engine's fallbacks:
// "fallback"). Batched: one request at most every 10 s, at most 50 events, and what is left
// goes out when the page is hidden. Nothing about the listener is sent.
const KINDS = new Set(["underrun", "stall", "decode_error", "fallback"]);
const queue = [];
let timer = null;

function flush() {
  clearTimeout(timer); timer = null;
  if (!queue.length) return;
  const events = queue.splice(0, 50);
  fetch("/api/telemetry", { method: "POST", keepalive: true, headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ events }) }).catch(() => {});
  if (queue.length) timer = setTimeout(flush, 10_000);
}

/** Reports one playback problem (`underrun`, `stall`, `decode_error`, `fallback`). */
export function report(kind, detail = "") {
  if (queue.length >= 200) return;
  queue.push({ kind: KINDS.has(kind) ? kind : "other", detail: String(detail).slice(0, 200) });
  if (!timer) timer = setTimeout(flush, 10_000);
}

const media = (e) => e.target instanceof HTMLMediaElement ? e.target : null;
document.addEventListener("error", (e) => {
  const m = media(e);
  if (m && m.error) report("decode_error", `${m.error.code}: ${m.error.message || ""}`);
}, true);
document.addEventListener("stalled", (e) => { if (media(e)) report("stall", "no data from the box"); }, true);
// Waiting in the middle of a song (not at its start, not while seeking): the buffer ran dry.
document.addEventListener("waiting", (e) => {
  const m = media(e);
  if (m && m.currentTime > 0.5 && !m.seeking) report("underrun", `at ${m.currentTime.toFixed(1)} s`);
}, true);
addEventListener("pagehide", flush);
document.addEventListener("visibilitychange", () => { if (document.hidden) flush(); });
