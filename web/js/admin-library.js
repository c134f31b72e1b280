// The operator's Library tab: the library's scans (a "Rescan" button, progress, the last
// scan, cache entries made stale) and HVSC sync (start, stop, progress in bytes, files and
// step; the installed release and the last check).
import { api, el } from "./api.js";
import { onEvent } from "./events.js";

const when = (s) => (s ? new Date(s * 1000).toLocaleString() : "never");
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

export function libraryPanel(shell) {
  // ---- scans ----
  const scanState = el("p", { id: "scan-state", role: "status", "aria-live": "polite" });
  const scanLast = el("p", { class: "muted", id: "scan-last" });
  const rescan = el("button", { class: "btn primary", id: "rescan", text: "Rescan", onclick: async () => {
    try { await api("/api/admin/library/rescan", { method: "POST", body: {} }); shell.toast("Rescan started"); }
    catch (e) { shell.error(e.message); }
  } });
  function drawScan(d) {
    const p = d.progress;
    scanState.textContent = d.scanning
      ? `Scanning: ${p ? `${p.phase}, ${p.read}/${p.to_read} read of ${p.files} files` : "starting"}…`
      : `${d.tunes} tunes${d.watching ? ", watching the folder for changes" : ""}.`;
    const l = d.last;
    scanLast.textContent = l
      ? (l.error ? `Last scan (${l.cause}) failed: ${l.error}` :
        `Last scan (${l.cause}, ${when(l.finished_unix)}, ${l.elapsed_ms} ms): ${l.added} added, ${l.changed} changed, ${l.removed} removed, ${l.moved} moved, ${l.unreadable} unreadable.`)
        + (d.stale_cache_entries ? ` ${d.stale_cache_entries} cached file(s) of deleted or changed tunes.` : "")
      : "";
  }
  async function loadScan() {
    try { drawScan(await api("/api/admin/library")); } catch (e) { shell.error(e.message); }
  }
  onEvent("library_scan", (p) => { scanState.textContent = `Scanning: ${p.phase}, ${p.read}/${p.to_read} read of ${p.files} files…`; });
  onEvent("library_scanned", () => loadScan());

  // ---- HVSC ----
  const hvscState = el("p", { id: "hvsc-state", role: "status", "aria-live": "polite" });
  const bar = el("div", { class: "progress", role: "progressbar", id: "hvsc-progress", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0", "aria-label": "HVSC sync progress" },
    el("div", { style: "width:0%" }));
  const hvscInfo = el("p", { class: "muted", id: "hvsc-info" });
  const full = el("input", { type: "checkbox", id: "hvsc-full" });
  const start = el("button", { class: "btn primary", id: "hvsc-sync", text: "Download / update HVSC", onclick: async () => {
    try { await api("/api/admin/hvsc/sync", { method: "POST", body: { full: full.checked } }); loadHvsc(); }
    catch (e) { shell.error(e.message); }
  } });
  const stop = el("button", { class: "btn", id: "hvsc-stop", text: "Stop", onclick: async () => {
    try { await api("/api/admin/hvsc/stop", { method: "POST", body: {} }); } catch (e) { shell.error(e.message); }
  } });
  function drawProgress(p) {
    if (!p) { bar.setAttribute("aria-valuenow", "0"); bar.firstChild.style.width = "0%"; return; }
    const [n, t] = p.bytes_total ? [p.bytes, p.bytes_total] : [p.files, p.files_total || 0];
    const pct = t ? Math.min(100, Math.round((n / t) * 100)) : 0;
    bar.setAttribute("aria-valuenow", String(pct));
    bar.firstChild.style.width = `${pct}%`;
    const amount = p.bytes_total ? `${mib(p.bytes)} of ${mib(p.bytes_total)}` : p.files_total ? `${p.files} of ${p.files_total} files` : "";
    hvscState.textContent = `Sync: ${p.step.replace(/_/g, " ")}${p.archive ? ` ${p.archive}` : ""}${amount ? ` (${amount})` : ""}`;
  }
  function drawHvsc(d) {
    start.disabled = !d.available || d.running;
    stop.disabled = !d.running;
    const c = d.collection || {};
    const j = d.job || {};
    if (!d.available) hvscState.textContent = "HVSC sync needs a library folder (paths.library); the demo library is in use.";
    else if (d.running) drawProgress(d.progress) || (d.progress ? null : (hvscState.textContent = "Sync starting…"));
    else hvscState.textContent = j.state === "failed" ? `Last sync failed: ${j.last_error}` :
      j.state === "stopped" ? "Stopped; the next sync continues where it was." :
      j.state === "done" ? `Up to date with release ${c.installed ?? "?"}.` : "No sync yet.";
    if (!d.running) drawProgress(null);
    hvscInfo.textContent = `Installed: ${c.installed ? `release ${c.installed} (${when(c.installed_unix)})` : "none"} · last check ${when(c.last_check_unix)}`
      + `${c.latest_seen ? ` · newest on the mirror: ${c.latest_seen}` : ""} · mirror ${d.mirror} · schedule ${d.schedule === "off" ? "off" : `${d.schedule} at ${d.at} (${d.time_zone || "UTC"})`}`
      + `${c.partial_downloads && c.partial_downloads.length ? ` · partial downloads: ${c.partial_downloads.map(([a, b]) => `${a} ${mib(b)}`).join(", ")}` : ""}`;
  }
  async function loadHvsc() {
    try { drawHvsc(await api("/api/admin/hvsc")); } catch (e) { shell.error(e.message); }
  }
  onEvent("hvsc_sync", (p) => { drawProgress(p); start.disabled = true; stop.disabled = false; });
  onEvent("hvsc_job", () => loadHvsc());

  const panel = el("section", { class: "grid" },
    el("div", { class: "card", "aria-labelledby": "scan-h" }, el("h2", { id: "scan-h", text: "Library" }), scanState, scanLast, rescan),
    el("div", { class: "card", "aria-labelledby": "hvsc-h" }, el("h2", { id: "hvsc-h", text: "High Voltage SID Collection" }),
      hvscState, bar, hvscInfo,
      el("label", { for: "hvsc-full", class: "row" }, full, "Install the newest complete release (not only updates)"),
      el("div", { class: "row" }, start, stop)));
  panel.addEventListener("shown", () => { loadScan(); loadHvsc(); });
  setInterval(() => { if (!panel.hidden) { loadScan(); loadHvsc(); } }, 5000);
  return panel;
}
