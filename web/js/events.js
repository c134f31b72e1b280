// The box's server-sent events, ONE stream for every tab of this box in this browser.
// Browsers allow six HTTP/1.1 connections per host; a stream held by every tab would soon
// leave none for the pages themselves. So the tabs elect a leader over a BroadcastChannel:
// the leader holds the one EventSource and re-broadcasts each event; the others listen.
// (Web Locks would be simpler but need a secure context, which http://sidflow.local is not.)
// An operator tab that is logged in leads with the operator's stream, which carries the
// public events too. A leader that goes away says so; one that vanishes is replaced after
// its announced time to live.

const subs = new Map();
const me = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
let rank = 0; // 0: not started; 1: public; 2: operator (needs the operator's events)
let bc = null;
let es = null; // set while this tab leads
let leader = null; // { id, rank, until } while another tab leads
let electing = null;
let beat = null;

/** Calls `fn(data)` for every event of `type` (`playing`, `box`, `render`, `job`, ...). */
export function onEvent(type, fn) {
  if (!subs.has(type)) subs.set(type, new Set());
  subs.get(type).add(fn);
}

function dispatch(type, data) {
  for (const fn of subs.get(type) || []) {
    try { fn(data); } catch (e) { console.error(e); }
  }
}

const higher = (a, b) => a.rank > b.rank || (a.rank === b.rank && a.id > b.id);
// A hidden tab's timers may be throttled to one a minute: it announces a longer life.
const ttl = () => (document.hidden ? 75_000 : 12_000);
const post = (m) => { try { bc.postMessage(m); } catch { /* closed */ } };
const announce = () => post({ k: "lead", id: me, rank, ttl: ttl() });

const TYPES = ["playing", "box", "render", "job", "shutdown", "devices", "discovery", "hwqueue",
  "library_scan", "library_scanned", "hvsc_sync", "hvsc_job"];
function lead() {
  clearTimeout(electing); electing = null;
  leader = null;
  if (!es) {
    es = new EventSource(rank === 2 ? "/api/admin/events" : "/api/events");
    for (const type of TYPES) {
      es.addEventListener(type, (m) => {
        let data = null;
        try { data = JSON.parse(m.data); } catch { return; }
        dispatch(type, data);
        if (bc) post({ k: "ev", type, data });
      });
    }
  }
  if (bc) {
    announce();
    clearInterval(beat);
    beat = setInterval(announce, 4000);
  }
}

function follow(m) {
  if (es) { es.close(); es = null; clearInterval(beat); beat = null; }
  leader = { id: m.id, rank: m.rank, until: Date.now() + (m.ttl || 12_000) };
  clearTimeout(electing); electing = null;
}

function elect(delay = 300) {
  if (es || electing) return;
  post({ k: "who" });
  electing = setTimeout(() => {
    electing = null;
    if (!leader || leader.until < Date.now() || leader.rank < rank) lead();
  }, delay + Math.random() * 200);
}

function onMessage({ data: m }) {
  if (!m || typeof m !== "object") return;
  if (m.k === "ev") { dispatch(m.type, m.data); return; }
  if (m.k === "who") { if (es) announce(); return; }
  if (m.k === "bye") { if (leader && leader.id === m.id) { leader = null; elect(50); } return; }
  if (m.k === "lead") {
    if (es) {
      // Two leaders: the higher one stays; the lower one follows.
      if (higher(m, { id: me, rank })) follow(m); else announce();
    } else if (m.rank >= rank) follow(m);
    else elect(0); // an operator tab that hears a public leader takes over
  }
}

/** Starts (or upgrades to the operator's stream, `admin: true`) this tab's share. */
export function startEvents({ admin = false } = {}) {
  if (!window.EventSource) return;
  const want = admin ? 2 : 1;
  if (want <= rank) return;
  const was = rank;
  rank = want;
  if (!window.BroadcastChannel) {
    if (es) { es.close(); es = null; }
    lead();
    return;
  }
  if (es) { es.close(); es = null; lead(); return; }
  if (!was) {
    bc = new BroadcastChannel("sidflow-events");
    bc.onmessage = onMessage;
    setInterval(() => { if (!es && (!leader || leader.until < Date.now())) { leader = null; elect(); } }, 3000);
    addEventListener("pagehide", () => {
      if (es) { post({ k: "bye", id: me }); es.close(); es = null; clearInterval(beat); beat = null; }
    });
    addEventListener("pageshow", (e) => { if (e.persisted) { leader = null; elect(); } });
    document.addEventListener("visibilitychange", () => { if (es) announce(); });
  }
  leader = leader && leader.rank >= rank ? leader : null;
  elect(400);
}

/** Whether this tab holds the stream (for tests and the status line). */
export function eventRole() { return es ? "leader" : leader ? "follower" : "none"; }
