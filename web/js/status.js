// The operator's Status tab: is the box healthy? Machine, line-out, devices, cache coverage,
// renders, readiness, recent warnings and the last hour's charts. Loaded once from
// /api/admin/overview when shown, then kept current by the `status` events the operator's
// event stream carries (every 5 s while an operator page is open; no polling).
import { api, el } from "./api.js";
import { onEvent } from "./events.js";

const SVG = "http://www.w3.org/2000/svg";
const HOUR = 3600;

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function fmtBytes(n) {
  if (n == null) return "?";
  if (n < 1024) return `${n} B`;
  const u = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return `${n.toFixed(1)} ${u[i]}`;
}

function fmtDuration(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${Math.floor(s % 60)} s`;
}

const pct = (v) => (v == null ? "?" : `${v.toFixed(0)} %`);

/** A small line chart of `key` over the last hour (values 0..max, max at least `floor`). */
function chart(id, title, unit, key, floor, digits = 0) {
  const w = 300, h = 70;
  const line = svg("polyline", { fill: "none", stroke: "currentColor", "stroke-width": 2, "vector-effect": "non-scaling-stroke" });
  const base = svg("line", { x1: 0, y1: h, x2: w, y2: h, stroke: "currentColor", "stroke-opacity": 0.3 });
  const pic = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", class: "chart", role: "img", "aria-label": title });
  const dot = svg("circle", { r: 3, fill: "currentColor", cx: -10, cy: -10 });
  pic.append(base, line, dot);
  const now = el("span", { class: "chart-now", text: "–" });
  const fig = el("figure", { class: "chart-box", id }, el("figcaption", {}, el("span", { text: title }), now), pic);
  fig.update = (samples, tNow) => {
    const pts = samples.filter((s) => s[key] != null && s.t >= tNow - HOUR);
    const max = Math.max(floor, ...pts.map((s) => s[key]));
    line.setAttribute("points", pts.map((s) => `${(((s.t - (tNow - HOUR)) / HOUR) * w).toFixed(1)},${(h - (s[key] / max) * (h - 4)).toFixed(1)}`).join(" "));
    const last = pts[pts.length - 1];
    const [x, y] = last ? line.getAttribute("points").split(" ").pop().split(",") : [-10, -10];
    dot.setAttribute("cx", x); dot.setAttribute("cy", y);
    now.textContent = last ? `${last[key].toFixed(digits)}${unit ? ` ${unit}` : ""}` : "–";
    pic.dataset.points = String(pts.length);
  };
  return fig;
}

export function statusPanel(shell) {
  const dl = (id) => el("dl", { class: "kv", id });
  const machine = dl("status-machine");
  const ready = el("ul", { class: "list", id: "status-ready", "aria-label": "Readiness checks" });
  const lineout = dl("status-lineout");
  const devices = el("ul", { class: "list", id: "status-devices", "aria-label": "C64 Ultimate devices" });
  const cache = el("tbody", { id: "status-cache" });
  const library = el("p", { class: "muted", id: "status-library" });
  const work = dl("status-work");
  // Scrolls on its own (a long list): reachable with the keyboard.
  const logs = el("ul", { class: "list logs", id: "status-logs", tabindex: "0", "aria-label": "Recent warnings and errors", "aria-live": "polite" });
  const charts = [
    chart("chart-cpu", "CPU", "%", "cpu_percent", 100),
    chart("chart-memory", "Memory", "%", "memory_percent", 100),
    chart("chart-renders", "Renders / min", "", "renders_per_min", 1, 1),
    chart("chart-listeners", "Listeners", "", "listeners", 1),
  ];
  let history = [];

  const kv = (target, rows) => target.replaceChildren(...rows.filter(Boolean).flatMap(([k, v, id]) =>
    [el("dt", { text: k }), el("dd", { text: v, id: id || null })]));

  function draw(s) {
    const mem = s.memory_total_bytes ? 100 * (1 - s.memory_available_bytes / s.memory_total_bytes) : null;
    const temps = Object.entries(s.temperatures || {});
    kv(machine, [
      ["CPU", pct(s.cpu_percent), "status-cpu"],
      ["Memory", mem == null ? "?" : `${pct(mem)} of ${fmtBytes(s.memory_total_bytes)} (daemon ${fmtBytes(s.process_rss_bytes)})`, "status-memory"],
      ["Disk", s.disk_used_percent == null ? "?" : `${pct(s.disk_used_percent)} used (caching stops at ${s.disk_max_percent} %)`, "status-disk"],
      ["Temperature", temps.length ? temps.map(([z, c]) => `${c.toFixed(1)} °C (${z})`).join(", ") : "no sensor", "status-temperature"],
      ["Load", s.load1 == null ? "?" : s.load1.toFixed(2)],
      ["Uptime", fmtDuration(s.uptime_secs), "status-uptime"],
      ["Version", s.version],
    ]);
    ready.replaceChildren(...s.ready.checks.map((c) => el("li", { "data-check": c.name, "data-ok": String(c.ok) },
      el("span", { class: `badge ${c.ok ? "ok" : "bad"}`, text: c.ok ? "OK" : "FAIL" }),
      el("strong", { text: c.name }), el("span", { class: "muted detail", text: c.detail }))));
    const lo = s.lineout;
    kv(lineout, [
      ["State", !lo.enabled ? "disabled" : lo.available ? lo.state : "unavailable", "status-lineout-state"],
      lo.device ? ["Device", lo.device] : null,
      ["Underruns", String(lo.underruns)],
      lo.last_error ? ["Last error", lo.last_error, "status-lineout-error"] : null,
    ]);
    devices.replaceChildren(...s.devices.map((d) => el("li", {}, el("span", { class: `badge ${d.online ? "ok" : "bad"}`, text: d.online ? "online" : "offline" }),
      el("span", { text: d.name || d.id }))));
    if (!s.devices.length) devices.append(el("li", { class: "empty", text: "No C64 Ultimate known." }));
    library.textContent = `${s.library_tunes} tunes, ${s.library_songs} songs${s.library_scanning ? " (scanning…)" : ""}`;
    cache.replaceChildren(...s.cache.map((c) => el("tr", { "data-format": c.format },
      el("td", { text: c.format.toUpperCase() }), el("td", { text: String(c.files) }), el("td", { text: fmtBytes(c.bytes) }),
      el("td", { class: "coverage", text: c.coverage == null ? "–" : `${(100 * c.coverage).toFixed(c.coverage < 0.1 ? 1 : 0)} % (${c.songs})` }),
      el("td", { text: !c.enabled ? "off" : c.caching ? "yes" : "stopped (disk)" }))));
    const problems = Object.entries(s.playback_problems || {}).filter(([, n]) => n).map(([k, n]) => `${n} ${k.replace("_", " ")}`).join(", ") || "none";
    const jobs = Object.entries(s.jobs).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(", ") || "none";
    kv(work, [
      ["Renders running", String(s.renders_in_flight), "status-renders"],
      ["Renders queued", String(s.renders_queued), "status-queued"],
      ["Renders since start", String(s.renders_started)],
      ["Listeners", String(s.listeners), "status-listeners"],
      ["Devices online", `${s.devices_online} of ${s.devices.length}`, "status-devices-online"],
      ["Jobs", jobs],
      ["Playback problems", problems, "status-problems"],
    ]);
    logs.replaceChildren(...s.logs.map((l) => el("li", { class: `log ${l.level.toLowerCase()}` },
      el("span", { class: `badge ${l.level === "ERROR" ? "bad" : "warn"}`, text: l.level }),
      el("span", { class: "log-text" }, el("span", { class: "muted", text: `${l.at.replace("T", " ").replace("Z", "")} ` }), l.message))));
    if (!s.logs.length) logs.append(el("li", { class: "empty", text: "No warnings or errors since the daemon started." }));
    if (s.sample && (!history.length || s.sample.t > history[history.length - 1].t)) history.push(s.sample);
    const newest = history.length ? history[history.length - 1].t : 0;
    history = history.filter((x) => x.t >= newest - HOUR).slice(-240);
    const tNow = Math.floor(Date.now() / 1000);
    for (const c of charts) c.update(history, Math.max(tNow, history.length ? history[history.length - 1].t : 0));
  }

  onEvent("status", (s) => { if (!panel.hidden) draw(s); });
  const panel = el("section", { class: "grid status-tab" },
    el("div", { class: "stack" },
      el("div", { class: "card" }, el("h2", { text: "Box" }), machine),
      el("div", { class: "card" }, el("h2", { text: "Last hour" }), el("div", { class: "charts", id: "status-charts" }, ...charts)),
      el("div", { class: "card" }, el("h2", { text: "Warnings and errors" }), logs)),
    el("div", { class: "stack" },
      el("div", { class: "card" }, el("h2", { text: "Ready to serve" }), ready),
      el("div", { class: "card" }, el("h2", { text: "Line-out" }), lineout),
      el("div", { class: "card" }, el("h2", { text: "Work" }), work),
      el("div", { class: "card" }, el("h2", { text: "Library and cache" }), library,
        el("div", { class: "scroll-x" }, el("table", {}, el("thead", {}, el("tr", {}, ...["Format", "Files", "Size", "Songs covered", "Caching"].map((h) => el("th", { text: h })))), cache))),
      el("div", { class: "card" }, el("h2", { text: "Devices" }), devices)));
  panel.addEventListener("shown", async () => {
    try {
      const o = await api("/api/admin/overview");
      history = o.history || [];
      draw(o);
    } catch (e) { shell.error(e.message); }
  });
  return panel;
}
