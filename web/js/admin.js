// The operator's page: the same Play and Preferences components as the listener's page,
// plus render jobs, cache, settings and the audit trail, behind a password.
import { api, el, setCsrf } from "./api.js";
import { createShell } from "./shell.js";
import { playPanel } from "./play.js";
import { prefsPanel } from "./prefs.js";
import { onEvent, startEvents } from "./events.js";
import { libraryPanel } from "./admin-library.js";

const shell = createShell();
const main = document.getElementById("main");

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const u = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return `${n.toFixed(1)} ${u[i]}`;
}

async function boot() {
  let s;
  try { s = await api("/api/admin/session"); } catch (e) { shell.error(e.message); return; }
  if (s.logged_in) { setCsrf(s.csrf); return start(); }
  loginForm(!s.password_set);
}

function loginForm(first) {
  const pw = el("input", { type: "password", id: "password", autocomplete: first ? "new-password" : "current-password", required: true, minlength: first ? "8" : null });
  const code = first ? el("input", { type: "text", id: "setup-code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true, placeholder: "XXXX-XXXX" }) : null;
  const msg = el("p", { class: "muted", id: "login-msg", role: "status" });
  const form = el("form", { class: "card login", id: "login-form", "aria-label": first ? "Set the operator password" : "Operator login" },
    el("h2", { text: first ? "Choose the operator password" : "Operator login" }),
    first ? el("p", { class: "muted", text: "No password is set yet. Enter the setup code the box shows on its screen and in its log (journalctl -u sidflowd, or run `sidflowd setup-code` on the box), then choose a password of at least 8 characters." }) : null,
    first ? el("label", { class: "field", for: "setup-code" }, el("span", { text: "Setup code" }), code) : null,
    el("label", { class: "field", for: "password" }, el("span", { text: first ? "New password" : "Password" }), pw),
    el("button", { class: "btn primary", type: "submit", id: "login-submit", text: first ? "Set password and continue" : "Log in" }), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "Checking…";
    try {
      const r = first
        ? await api("/api/admin/setup", { method: "POST", body: { code: code.value, password: pw.value } })
        : await api("/api/admin/login", { method: "POST", body: { password: pw.value } });
      setCsrf(r.csrf);
      form.remove();
      start();
    } catch (err) { msg.textContent = err.message; pw.select(); }
  });
  main.append(form);
  (code || pw).focus();
}

function start() {
  startEvents({ admin: true });
  shell.add("play", "Play", playPanel(shell));
  shell.add("prefs", "Preferences", prefsPanel(shell));
  shell.add("library", "Library", libraryPanel(shell));
  shell.add("jobs", "Render jobs", jobsPanel());
  shell.add("devices", "Devices", devicesPanel());
  shell.add("cache", "Cache", cachePanel());
  shell.add("settings", "Settings", settingsPanel());
  shell.add("audit", "Audit log", auditPanel());
  const out = el("button", { class: "btn", id: "logout", text: "Log out", onclick: async () => {
    try { await api("/api/admin/logout", { method: "POST", body: {} }); } finally { location.reload(); }
  } });
  document.querySelector("header.top").append(out);
}

// ---- render jobs ----
function jobsPanel() {
  const folder = el("select", { id: "job-folder" });
  const platform = el("select", { id: "job-platform" }, el("option", { value: "software", text: "Software (our emulator)" }),
    el("option", { value: "sidplayfp", text: "sidplayfp (the reference player)" }),
    el("option", { value: "hardware", text: "Hardware (C64 Ultimate)" }));
  const chip = el("select", { id: "job-chip" }, ...[["tune-6581", "Tune's chip, else 6581"], ["tune-8580", "Tune's chip, else 8580"],
    ["6581", "Always 6581"], ["8580", "Always 8580"]].map(([v, t]) => el("option", { value: v, text: t })));
  const fmts = ["mp3", "flac", "wav"].map((f) => el("input", { type: "checkbox", value: f, id: `job-fmt-${f}`, checked: f !== "wav" }));
  const startOnly = el("input", { type: "checkbox", id: "job-start-only" });
  const list = el("ul", { class: "list", id: "jobs", "aria-label": "Render jobs", "aria-live": "polite" });
  const form = el("form", { class: "card", id: "job-form", "aria-label": "New render job" },
    el("h2", { text: "Render ahead of time" }),
    el("label", { class: "field", for: "job-folder" }, el("span", { text: "Folder" }), folder),
    el("div", { class: "row" }, el("label", { class: "field", for: "job-platform" }, el("span", { text: "Engine" }), platform),
      el("label", { class: "field", for: "job-chip" }, el("span", { text: "Chip" }), chip)),
    el("fieldset", {}, el("legend", { text: "Formats" }), ...fmts.map((f) => el("label", { for: f.id }, f, f.value.toUpperCase()))),
    el("label", { for: "job-start-only", class: "row" }, startOnly, "Only each tune's main song"),
    el("button", { class: "btn primary", type: "submit", id: "job-start", text: "Start render job" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const j = await api("/api/admin/jobs", { method: "POST", body: { folder: folder.value, platform: platform.value,
        chip: chip.value, formats: fmts.filter((f) => f.checked).map((f) => f.value), start_song_only: startOnly.checked } });
      shell.toast(`Job ${j.id} started: ${j.total} song(s)`);
      refresh();
    } catch (err) { shell.error(err.message); }
  });
  const jobs = new Map();
  function row(j) {
    const pct = j.total ? Math.round(((j.done + j.failed) / j.total) * 100) : 0;
    const act = (a, label) => el("button", { class: `btn${a === "cancel" ? " danger" : ""}`, text: label, "aria-label": `${label} job ${j.id}`,
      onclick: async () => {
        if (a === "cancel" && !await shell.confirm(`Cancel job #${j.id} (${j.label})? What it rendered stays in the cache.`, { ok: "Cancel job", danger: true })) return;
        try { await api(a === "delete" ? `/api/admin/jobs/${j.id}` : `/api/admin/jobs/${j.id}/${a}`, { method: a === "delete" ? "DELETE" : "POST", body: {} }); refresh(); } catch (err) { shell.error(err.message); } } });
    const live = ["pending", "running", "paused"].includes(j.status);
    return el("li", { id: `job-${j.id}`, "data-status": j.status },
      el("div", { style: "flex:1;min-width:0" },
        el("div", { class: "row" }, el("strong", { text: `#${j.id} ${j.label}` }), el("span", { class: "badge job-status", text: j.status }),
          el("span", { class: "muted", text: `${j.platform} · ${j.formats.join(", ")}` })),
        el("div", { class: "row" }, el("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct), "aria-label": `Job ${j.id} progress` },
          el("div", { style: `width:${pct}%` })), el("span", { class: "muted job-count", text: `${j.done}/${j.total}${j.failed ? `, ${j.failed} failed` : ""}` })),
        j.last_error ? el("div", { class: "muted", text: j.last_error }) : null),
      j.status === "running" || j.status === "pending" ? act("pause", "Pause") : null,
      j.status === "paused" || j.status === "failed" ? act("resume", "Resume") : null,
      live ? act("cancel", "Cancel") : act("delete", "Delete"));
  }
  function draw() {
    list.replaceChildren(...[...jobs.values()].sort((a, b) => b.id - a.id).map(row));
    if (!jobs.size) list.append(el("li", { class: "empty", text: "No jobs yet." }));
  }
  async function refresh() {
    try { const d = await api("/api/admin/jobs"); jobs.clear(); for (const j of d.jobs) jobs.set(j.id, j); draw(); }
    catch (err) { shell.error(err.message); }
  }
  async function folders() {
    const d = await api("/api/library/browse?path=");
    folder.replaceChildren(el("option", { value: "", text: "Whole library" }),
      ...d.folders.map((f) => el("option", { value: f.path, text: `${f.name} (${f.tunes})` })));
  }
  onEvent("job", (j) => { jobs.set(j.id, j); draw(); });
  const panel = el("section", { class: "grid" }, form, el("div", { class: "card" }, el("h2", { text: "Jobs" }), list));
  panel.addEventListener("shown", () => { refresh(); folders().catch(() => {}); });
  setInterval(() => { if (!panel.hidden) refresh(); }, 5000);
  return panel;
}

// ---- devices ----
// Found on their own (at start, every few minutes, when a network comes up) and kept
// current; the operator adds by address, renames, removes, gives a device its own network
// password (never shown back), tests the connection and can look now ("Discover now",
// progress and result from the operator's event stream).
function ago(secs) {
  if (secs < 5) return "just now";
  if (secs < 90) return `${secs} s ago`;
  if (secs < 5400) return `${Math.round(secs / 60)} min ago`;
  if (secs < 129600) return `${Math.round(secs / 3600)} h ago`;
  return `${Math.round(secs / 86400)} days ago`;
}

function discoveryText(r) {
  const names = r.new_names && r.new_names.length ? ` (${r.new_names.join(", ")})` : "";
  return `Found ${r.found}, ${r.new} new${names}${r.lan ? "" : " (only the known addresses: LAN discovery is off)"}`;
}

function devicesPanel() {
  const list = el("ul", { class: "list", id: "device-list", "aria-label": "C64 Ultimate devices" });
  const removedList = el("ul", { class: "list", id: "device-removed", "aria-label": "Removed devices" });
  const removedCard = el("div", { class: "card", hidden: true }, el("h2", { text: "Removed devices" }),
    el("p", { class: "muted", text: "Discovery leaves these out. Add one by its address to bring it back." }), removedList);
  const status = el("p", { class: "muted", id: "discover-status", role: "status", "aria-live": "polite" });
  const tests = new Map(); // id -> last test result (kept across redraws)
  let busy = false;
  const q = (id) => encodeURIComponent(id);
  function passwordState(x) {
    if (x.password_rejected) return x.password_set ? "its password was refused" : "needs a password (the default was refused)";
    if (x.password_needed) return "needs a password";
    return x.password_set ? "own password set" : "default password";
  }
  function row(x) {
    const slug = x.id.replace(/[^A-Za-z0-9_-]/g, "_");
    const name = x.name || x.id;
    const test = el("div", { class: "muted device-test", id: `device-test-${slug}`, role: "status" });
    const t = tests.get(x.id);
    if (t) test.replaceChildren(el("span", { class: "badge", text: t.ok ? "OK" : "Failed" }), ` ${t.result}`);
    const act = (label, cls, fn) => el("button", { type: "button", class: `btn${cls ? ` ${cls}` : ""}`, text: label, "aria-label": `${label} ${name}`, onclick: fn });
    // Rename and password: small forms shown on demand.
    const label = el("input", { type: "text", id: `device-label-${slug}`, value: x.label || "", maxlength: "64", placeholder: x.hostname || "" });
    const renameForm = el("form", { class: "row device-rename", hidden: true, "aria-label": `Rename ${name}` },
      el("label", { for: label.id, text: "Name" }), label, el("button", { class: "btn", type: "submit", text: "Save" }));
    renameForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await api(`/api/admin/devices/${q(x.id)}`, { method: "PUT", body: { label: label.value.trim() || null } }); shell.toast(label.value.trim() ? `Renamed to ${label.value.trim()}` : "Name cleared"); load(); }
      catch (err) { shell.error(err.message); }
    });
    const pw = el("input", { type: "password", id: `device-pw-${slug}`, autocomplete: "new-password", placeholder: x.password_set ? "set (not shown)" : "not set" });
    const pwForm = el("form", { class: "row device-password", hidden: true, "aria-label": `Network password of ${name}` },
      el("label", { for: pw.id, text: "Network password" }), pw, el("button", { class: "btn", type: "submit", text: "Save" }),
      x.password_set ? el("button", { class: "btn", type: "button", text: "Clear", onclick: () => setPw(null) }) : null);
    async function setPw(value) {
      try { await api(`/api/admin/devices/${q(x.id)}`, { method: "PUT", body: { password: value } }); pw.value = ""; shell.toast(value ? `Password of ${name} saved` : `Password of ${name} cleared`); load(); }
      catch (err) { shell.error(err.message); }
    }
    pwForm.addEventListener("submit", (e) => { e.preventDefault(); setPw(pw.value || null); });
    const where = (x.addresses || []).map((a) => a.host || a.addr).filter(Boolean);
    return el("li", { id: `device-${slug}`, "data-id": x.id, "data-online": String(x.online), style: "flex-wrap:wrap" },
      el("div", { style: "flex:1;min-width:12em" },
        el("div", { class: "row" }, el("strong", { class: "device-name", text: name }),
          el("span", { class: "badge device-online", text: x.online ? "online" : "offline" }),
          x.busy ? el("span", { class: "badge", text: "busy" }) : null,
          x.simulator ? el("span", { class: "badge", text: "simulator" }) : null),
        el("div", { class: "muted", text: [x.product, x.firmware, x.address, ...where.filter((w) => w !== x.address)].filter(Boolean).join(" · ") }),
        el("div", { class: "muted device-seen", text: `Last seen ${x.seen_secs_ago != null ? ago(x.seen_secs_ago) : "never"} · ${passwordState(x)}${x.can_stream ? " · can record" : ""}` }),
        test, renameForm, pwForm),
      el("div", { class: "row" },
        act("Test connection", "", async (e) => {
          const b = e.currentTarget;
          b.disabled = true;
          test.replaceChildren("Testing…");
          try { const r = await api(`/api/admin/devices/${q(x.id)}/test`, { method: "POST", body: {} }); tests.set(x.id, r);
            test.replaceChildren(el("span", { class: "badge", text: r.ok ? "OK" : "Failed" }), ` ${r.result}`); }
          catch (err) { test.textContent = `Failed: ${err.message}`; }
          finally { b.disabled = false; }
        }),
        act("Rename", "", () => { renameForm.hidden = !renameForm.hidden; if (!renameForm.hidden) label.focus(); }),
        act("Password", "", () => { pwForm.hidden = !pwForm.hidden; if (!pwForm.hidden) pw.focus(); }),
        act("Remove", "danger", async () => {
          if (!await shell.confirm(`Remove ${name}? Discovery will leave it out until you add it again by its address.`, { ok: "Remove", danger: true })) return;
          try { await api(`/api/admin/devices/${q(x.id)}`, { method: "DELETE", body: {} }); shell.toast(`${name} removed`); load(); }
          catch (err) { shell.error(err.message); }
        })));
  }
  let last = null;
  function showLast() {
    if (busy) return;
    if (!last) { status.textContent = "No discovery yet."; return; }
    const when = last.at ? new Date(last.at).toLocaleTimeString() : "";
    const why = { start: "at start", timer: "timed", interface: "a network came up", operator: "Discover now" }[last.trigger] || last.trigger;
    status.textContent = `Last discovery (${why}, ${when}): ${discoveryText(last)}.`;
  }
  async function load() {
    try {
      const d = await api("/api/admin/devices");
      list.replaceChildren(...d.devices.map(row));
      if (!d.devices.length) list.append(el("li", { class: "empty", text: "No devices yet: discover them or add one by its address." }));
      removedList.replaceChildren(...(d.removed || []).map((r) => el("li", { text: `${r.name}${r.name !== r.id ? ` (${r.id})` : ""}` })));
      removedCard.hidden = !(d.removed || []).length;
      last = d.last_discovery; showLast();
    } catch (e) { shell.error(e.message); }
  }
  onEvent("discovery", (p) => {
    if (p.state === "running") {
      busy = true; discover.disabled = true;
      status.textContent = p.step === "confirming" ? `Checking ${p.candidates} address(es)…` : p.lan ? "Searching the network (ident broadcast, mDNS)…" : "Asking the known addresses…";
    } else {
      busy = false; discover.disabled = false;
      if (p.state === "failed") status.textContent = `Discovery failed: ${p.error}`;
      else { last = p; showLast(); }
    }
  });
  // The periodic and event-driven redraws wait while the operator types in a device's form.
  const editing = () => !!list.querySelector("form:not([hidden])");
  onEvent("devices", () => { if (!panel.hidden && !editing()) load(); });
  const discover = el("button", { class: "btn primary", id: "discover", text: "Discover now", onclick: async () => {
    discover.disabled = true; busy = true;
    status.textContent = "Searching the network…";
    try { const r = await api("/api/admin/devices/discover", { method: "POST", body: {} }); busy = false; last = r.discovery; showLast(); await load(); }
    catch (e) { busy = false; status.textContent = `Discovery failed: ${e.message}`; } finally { busy = false; discover.disabled = false; }
  } });
  const host = el("input", { type: "text", id: "device-host", placeholder: "192.168.1.64 or u64.local", required: true });
  const addLabel = el("input", { type: "text", id: "device-add-label", maxlength: "64", placeholder: "optional" });
  const addPw = el("input", { type: "password", id: "device-add-password", autocomplete: "new-password", placeholder: "if it has one" });
  const addMsg = el("p", { class: "muted", id: "device-add-result", role: "status" });
  const addForm = el("form", { class: "stack", id: "device-add", "aria-label": "Add a device by its address" },
    el("label", { class: "field", for: "device-host" }, el("span", { text: "Address or host name" }), host),
    el("label", { class: "field", for: "device-add-label" }, el("span", { text: "Name" }), addLabel),
    el("label", { class: "field", for: "device-add-password" }, el("span", { text: "Network password" }), addPw),
    el("button", { class: "btn", type: "submit", id: "device-add-submit", text: "Add" }), addMsg);
  addForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    addMsg.textContent = `Asking ${host.value}…`;
    try {
      const r = await api("/api/admin/devices/add", { method: "POST", body: { host: host.value.trim(), password: addPw.value || null, label: addLabel.value.trim() || null } });
      addMsg.textContent = `Added ${r.info ? `${r.info.product} ` : ""}${r.id}.`;
      host.value = ""; addPw.value = ""; addLabel.value = ""; load();
    } catch (err) { addMsg.textContent = `Not added: ${err.message}`; }
  });
  const pw = el("input", { type: "password", id: "device-password", autocomplete: "new-password" });
  const pwForm = el("form", { class: "row" }, el("label", { for: "device-password", text: "Default network password" }), pw, el("button", { class: "btn", type: "submit", text: "Save" }));
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await api("/api/admin/devices/password", { method: "POST", body: { password: pw.value } }); pw.value = ""; shell.toast("Default device password saved"); load(); }
    catch (err) { shell.error(err.message); }
  });
  const panel = el("section", { class: "grid" },
    el("div", { class: "card" }, el("h2", { text: "C64 Ultimate devices" }), list,
      el("div", { class: "row", style: "margin-top:10px" }, discover, status)),
    el("div", { class: "card stack" }, el("h2", { text: "Add a device" }), addForm,
      el("h2", { text: "Default password" }),
      el("p", { class: "muted", text: "For devices without their own (SIDFLOW_ULTIMATE_PASSWORD in the service's environment sets it too). Never shown back." }), pwForm),
    removedCard);
  panel.addEventListener("shown", load);
  setInterval(() => { if (!panel.hidden && !busy && !editing()) load(); }, 5000);
  return panel;
}

// ---- cache ----
function cachePanel() {
  const usage = el("tbody", { id: "cache-usage" });
  const disk = el("p", { class: "muted", id: "cache-disk" });
  const q = el("input", { type: "search", id: "cache-search", "aria-label": "Find a tune to manage its renders", placeholder: "Find a tune…" });
  const found = el("ul", { class: "list", id: "cache-variants" });
  async function load() {
    try {
      const d = await api("/api/admin/cache");
      usage.replaceChildren(...Object.entries(d.usage).sort().map(([f, u]) => el("tr", {},
        el("td", { text: f.toUpperCase() }), el("td", { text: String(u.files) }), el("td", { text: fmtBytes(u.bytes) }),
        el("td", { text: d.policy.formats.includes(f) ? "yes" : "no" }))));
      disk.textContent = `Cache folder ${d.dir}; disk ${d.disk_used_percent == null ? "?" : d.disk_used_percent.toFixed(1)}% used. ` +
        `Caching stops at WAV ${d.policy.wav_stop_percent}%, FLAC ${d.policy.flac_stop_percent}%, everything ${d.policy.max_disk_percent}%.`;
    } catch (e) { shell.error(e.message); }
  }
  let t = null;
  q.addEventListener("input", () => { clearTimeout(t); t = setTimeout(find, 200); });
  async function find() {
    found.replaceChildren();
    if (!q.value.trim()) return;
    const d = await api(`/api/library/search?q=${encodeURIComponent(q.value)}&limit=10`);
    for (const tune of d.tunes) {
      const v = await api(`/api/variants?md5=${tune.md5}`);
      for (const x of v.variants) {
        found.append(el("li", {}, el("span", { style: "flex:1", text: `${tune.title} · song ${x.song} · ${x.platform} · ${x.chip} · ${x.format.toUpperCase()} · ${fmtBytes(x.size)}` }),
          el("button", { class: "btn danger", text: "Delete", "aria-label": `Delete ${x.format} of ${tune.title} song ${x.song}`, onclick: async () => {
            if (!await shell.confirm(`Delete the cached ${x.format.toUpperCase()} of ${tune.title}, song ${x.song} (${fmtBytes(x.size)})? It is rendered again when someone plays it.`, { ok: "Delete", danger: true })) return;
            try { await api("/api/admin/cache/delete", { method: "POST", body: { md5: tune.md5, song: x.song, platform: x.platform, chip: x.chip, format: x.format } }); shell.toast("Deleted"); find(); load(); }
            catch (e) { shell.error(e.message); } } })));
      }
    }
    if (!found.children.length) found.append(el("li", { class: "empty", text: "No cached renders for that search." }));
  }
  const panel = el("section", { class: "grid" },
    el("div", { class: "card" }, el("h2", { text: "Cache usage" }),
      el("div", { class: "scroll-x" }, el("table", {}, el("thead", {}, el("tr", {}, ...["Format", "Files", "Size", "Cached"].map((h) => el("th", { text: h })))), usage)), disk),
    el("div", { class: "card" }, el("h2", { text: "Cached renders of a tune" }), q, found));
  panel.addEventListener("shown", load);
  return panel;
}

// ---- settings ----
function settingsPanel() {
  const fmts = ["mp3", "flac", "wav"].map((f) => el("input", { type: "checkbox", id: `set-fmt-${f}`, value: f }));
  const num = (id, label, min, max) => {
    const i = el("input", { type: "number", id, min: String(min), max: String(max), required: true });
    return [i, el("label", { class: "field", for: id }, el("span", { text: label }), i)];
  };
  const [wav, wavL] = num("set-wav", "Stop caching WAV at disk use (%)", 1, 100);
  const [flac, flacL] = num("set-flac", "Stop caching FLAC at disk use (%)", 1, 100);
  const [max, maxL] = num("set-max", "Stop all caching and rendering at (%)", 1, 100);
  const rate = el("select", { id: "set-bitrate" }, ...[128, 192, 256, 320].map((r) => el("option", { value: String(r), text: `${r} kbit/s` })));
  const form = el("form", { class: "card", id: "settings-form" }, el("h2", { text: "Cache settings" }),
    el("fieldset", {}, el("legend", { text: "Formats kept in the cache" }), ...fmts.map((f) => el("label", { for: f.id }, f, f.value.toUpperCase()))),
    wavL, flacL, maxL, el("label", { class: "field", for: "set-bitrate" }, el("span", { text: "MP3 bit rate" }), rate),
    el("button", { class: "btn primary", type: "submit", text: "Save settings" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("/api/admin/settings", { method: "PUT", body: { cache: { formats: fmts.filter((f) => f.checked).map((f) => f.value),
        wav_stop_percent: +wav.value, flac_stop_percent: +flac.value, max_disk_percent: +max.value, mp3_bitrate_kbps: +rate.value } } });
      shell.toast("Settings saved");
    } catch (err) { shell.error(err.message); }
  });
  const cur = el("input", { type: "password", id: "current-password", autocomplete: "current-password", required: true });
  const pw = el("input", { type: "password", id: "new-password", autocomplete: "new-password", minlength: "8", required: true });
  const pwForm = el("form", { class: "card" }, el("h2", { text: "Operator password" }),
    el("label", { class: "field", for: "current-password" }, el("span", { text: "Current password" }), cur),
    el("label", { class: "field", for: "new-password" }, el("span", { text: "New password" }), pw),
    el("p", { class: "muted", text: "Changing it logs out every other browser." }),
    el("button", { class: "btn", type: "submit", text: "Change password" }));
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("/api/admin/password", { method: "POST", body: { current: cur.value, password: pw.value } });
      cur.value = ""; pw.value = ""; shell.toast("Password changed");
    } catch (err) { shell.error(err.message); }
  });
  // Backup: ratings, playlists and settings as one file (no passwords).
  const file = el("input", { type: "file", id: "restore-file", accept: "application/json,.json" });
  const backupCard = el("div", { class: "card" }, el("h2", { text: "Backup" }),
    el("p", { class: "muted", text: "Ratings, playlists, cache settings and added devices in one file. Passwords are not included." }),
    el("a", { class: "btn", id: "backup-download", href: "/api/admin/backup", download: "", text: "Download backup" }),
    el("label", { class: "field", for: "restore-file" }, el("span", { text: "Restore from a backup file (replaces ratings and playlists)" }), file),
    el("button", { class: "btn", id: "restore", text: "Restore", onclick: async () => {
      const f = file.files && file.files[0];
      if (!f) { shell.toast("Choose a backup file first."); return; }
      let body;
      try { body = JSON.parse(await f.text()); } catch { shell.error(`${f.name} is not a JSON file.`); return; }
      if (!await shell.confirm(`Restore ${f.name}? It replaces every rating and playlist on this box.`, { ok: "Restore", danger: true })) return;
      try {
        const r = await api("/api/admin/restore", { method: "POST", body });
        shell.toast(`Restored ${r.ratings} ratings and ${r.playlists} playlists`);
        panel.dispatchEvent(new Event("shown"));
      } catch (err) { shell.error(`Restore failed: ${err.message}`); }
    } }));
  const engine = engineCard();
  const roms = romsCard();
  const panel = el("section", { class: "grid" }, form, engine.el, roms.el, pwForm, backupCard);
  panel.addEventListener("shown", () => { engine.load(); roms.load(); });
  panel.addEventListener("shown", async () => {
    try {
      const d = await api("/api/admin/settings");
      for (const f of fmts) f.checked = d.cache.formats.includes(f.value);
      wav.value = d.cache.wav_stop_percent; flac.value = d.cache.flac_stop_percent; max.value = d.cache.max_disk_percent;
      rate.value = String(d.cache.mp3_bitrate_kbps);
    } catch (err) { shell.error(err.message); }
  });
  return panel;
}

// ---- audit ----
function auditPanel() {
  const body = el("tbody", { id: "audit" });
  const panel = el("section", {}, el("div", { class: "card" }, el("h2", { text: "Audit log (newest first)" }),
    el("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Audit log entries" },
      el("table", {}, el("thead", {}, el("tr", {}, ...["When", "Who", "What", "Result"].map((h) => el("th", { text: h })))), body))));
  panel.addEventListener("shown", async () => {
    try {
      const d = await api("/api/admin/audit?n=200");
      body.replaceChildren(...d.entries.map((a) => el("tr", {}, el("td", { text: a.ts }), el("td", { text: a.who }),
        el("td", { text: a.action }), el("td", { text: a.result }))));
    } catch (err) { shell.error(err.message); }
  });
  return panel;
}

boot();

// ---- the box's engine and the line-out's levelling (/api/admin/engine) ----
function engineCard() {
  const sel = el("select", { id: "set-engine" }, el("option", { value: "sidflow", text: "SIDFlow (our own engine)" }),
    el("option", { value: "sidplayfp", text: "sidplayfp (the installed reference player)" }));
  const level = el("input", { type: "checkbox", id: "set-lineout-level" });
  const state = el("p", { class: "muted", id: "engine-state", "aria-live": "polite" });
  const show = (d) => {
    sel.value = d.configured;
    level.checked = d.lineout_level;
    const sp = d.engines.find((x) => x.name === "sidplayfp");
    state.textContent = [`Rendering now with ${d.default}.`, d.fallback || "",
      sp && sp.available ? `sidplayfp: ${sp.binary}` : `sidplayfp: ${sp ? sp.reason : "unknown"}`].filter(Boolean).join(" ");
  };
  const form = el("form", { class: "card", id: "engine-form" }, el("h2", { text: "Engine and level" }),
    el("label", { class: "field", for: "set-engine" }, el("span", { text: "Engine for listeners who leave it to the box, the line-out and jobs" }), sel),
    el("label", { class: "row", for: "set-lineout-level" }, level, "Level tunes out on the line-out (every song equally loud)"),
    state, el("button", { class: "btn primary", type: "submit", text: "Save" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { show(await api("/api/admin/engine", { method: "PUT", body: { engine: sel.value, lineout_level: level.checked } })); shell.toast("Saved"); }
    catch (err) { shell.error(err.message); }
  });
  return { el: form, async load() { try { show(await api("/api/admin/engine")); } catch (err) { state.textContent = err.message; } } };
}

// ---- C64 ROM bundles (/api/admin/roms): uploaded here, checked against the box's list of
// known SHA-256 fingerprints, kept in the box's state folder, never served back ----
function romsCard() {
  const KINDS = [["kernal", "KERNAL"], ["basic", "BASIC"], ["chargen", "Character generator"]];
  const rows = new Map();
  const card = el("div", { class: "card", id: "roms" }, el("h2", { text: "C64 ROMs" }),
    el("p", { class: "muted", text: "Optional. With the C64's KERNAL and BASIC, tunes written as BASIC programs or calling ROM routines play as on a C64. SIDFlow ships no Commodore ROMs; only the revisions listed are accepted." }));
  const toB64 = (buf) => { let s = ""; const b = new Uint8Array(buf); for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000)); return btoa(s); };
  for (const [kind, label] of KINDS) {
    const state = el("span", { class: "muted", id: `rom-${kind}-state`, text: "…" });
    const accepted = el("p", { class: "muted", id: `rom-${kind}-known` });
    const file = el("input", { type: "file", id: `rom-${kind}-file`, accept: ".bin,.rom,application/octet-stream", "aria-label": `${label} ROM file` });
    const remove = el("button", { class: "btn danger", type: "button", id: `rom-${kind}-remove`, text: "Remove", hidden: true, onclick: async () => {
      if (!await shell.confirm(`Remove the ${label} ROM? Tunes that need it may sound wrong again.`, { ok: "Remove", danger: true })) return;
      try { show(await api(`/api/admin/roms/${kind}`, { method: "DELETE", body: {} })); shell.toast(`${label} ROM removed`); }
      catch (err) { shell.error(err.message); }
    } });
    const upload = el("button", { class: "btn", type: "button", id: `rom-${kind}-upload`, text: "Upload", onclick: async () => {
      const f = file.files && file.files[0];
      if (!f) { shell.toast("Choose the ROM file first."); return; }
      if (f.size > 16384) { shell.error(`${f.name} is too big for a C64 ROM.`); return; }
      try {
        show(await api(`/api/admin/roms/${kind}`, { method: "PUT", body: { name: f.name, data: toB64(await f.arrayBuffer()) } }));
        file.value = ""; shell.toast(`${label} ROM installed`);
      } catch (err) { shell.error(err.message); }
    } });
    rows.set(kind, { state, accepted, remove });
    card.append(el("fieldset", {}, el("legend", { text: label }), state, accepted,
      el("div", { class: "row" }, file, upload, remove)));
  }
  function show(d) {
    for (const [kind, r] of rows) {
      const i = d.installed.find((x) => x.kind === kind);
      r.state.textContent = i ? `Installed: ${i.file_name} (${i.description})` : "Not installed";
      r.remove.hidden = !i;
      r.accepted.textContent = `Accepted: ${d.known.filter((k) => k.kind === kind).map((k) => k.file_name).join(", ")}`;
    }
  }
  return { el: card, async load() { try { show(await api("/api/admin/roms")); } catch (err) { shell.error(err.message); } } };
}
