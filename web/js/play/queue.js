// The queue: what plays next. A click on a tune plays it in place of the current item; "+"
// adds to the end, "Play next" after the current one. The queue and the position in it are
// kept in this browser (they survive a reload). Tools: reorder (drag the handle, or arrow
// keys on it), shuffle what is left, repeat all or one, remove, clear. The radio: when the
// queue runs out, the box picks the next song, steered by the ratings.
import { api, el, icon } from "../api.js";
import { loadPrefs } from "../prefs.js";

export const songOf = (t) => t.pick_song || t.start_song;
const KEY = "sidflow.queue";
const MAX = 1000;
const REPEAT = ["off", "all", "one"];

// The fields of a tune the queue keeps (what a Tune from the API has).
const keep = (t) => ({ path: t.path, md5: t.md5, title: t.title, author: t.author, released: t.released,
  songs: t.songs, start_song: t.start_song, durations_ms: t.durations_ms, chip: t.chip, sids: t.sids,
  clock: t.clock, format: t.format, ...(t.pick_song ? { pick_song: t.pick_song } : {}) });

export function createQueue({ shell, box, player }) {
  const st = { items: [], index: -1, radio: false, recent: [], repeat: "off", at: 0, song: null };
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || "null");
    if (s && Array.isArray(s.items)) {
      st.items = s.items.filter((t) => t && t.path && t.md5).slice(0, MAX);
      st.index = Number.isInteger(s.index) && s.index < st.items.length ? s.index : -1;
      st.repeat = REPEAT.includes(s.repeat) ? s.repeat : "off";
      st.at = Number(s.at) || 0;
      st.song = Number(s.song) || null;
    }
  } catch { /* a damaged entry: start empty */ }

  function save() {
    try {
      localStorage.setItem(KEY, JSON.stringify({ v: 1, items: st.items, index: st.index, repeat: st.repeat,
        at: player.tune ? Math.floor(player.time || 0) : st.at, song: player.song || st.song }));
    } catch { /* full or private mode: the queue lives on in this page */ }
  }
  setInterval(() => { if (player.tune && !player.paused) save(); }, 5000);
  addEventListener("pagehide", save);

  const list = el("ul", { class: "list queue", id: "queue", "aria-label": "Queue" });
  const radioBtn = el("button", { class: "btn", id: "radio", text: "Radio", "aria-pressed": "false",
    title: "Keep playing songs the box picks when the queue runs out", onclick: () => setRadio(!st.radio) });
  const shuffleBtn = el("button", { class: "btn", id: "shuffle", text: "Shuffle", title: "Shuffle what is left to play",
    onclick: shuffle });
  const repeatBtn = el("button", { class: "btn", id: "repeat", onclick: cycleRepeat });
  const clearBtn = el("button", { class: "btn", id: "queue-clear", text: "Clear", onclick: () => { st.items = []; st.index = -1; changed(); } });
  const tools = el("div", { class: "row tools" }, radioBtn, shuffleBtn, repeatBtn, clearBtn);
  const card = el("div", { class: "card" }, el("h2", { text: "Queue" }), tools, list);

  function showRepeat() {
    repeatBtn.textContent = st.repeat === "one" ? "Repeat one" : st.repeat === "all" ? "Repeat all" : "Repeat off";
    repeatBtn.setAttribute("aria-pressed", String(st.repeat !== "off"));
  }
  function cycleRepeat() {
    st.repeat = REPEAT[(REPEAT.indexOf(st.repeat) + 1) % REPEAT.length];
    showRepeat(); save();
    shell.toast(repeatBtn.textContent);
  }

  function changed() { render(); save(); }

  function move(from, to) {
    if (to < 0 || to >= st.items.length || from === to) return;
    const [t] = st.items.splice(from, 1);
    st.items.splice(to, 0, t);
    if (st.index === from) st.index = to;
    else if (from < st.index && to >= st.index) st.index--;
    else if (from > st.index && to <= st.index) st.index++;
    changed();
    list.querySelectorAll(".handle")[to]?.focus();
  }

  function remove(i) {
    st.items.splice(i, 1);
    if (st.index > i) st.index--;
    else if (st.index === i) st.index = -1;
    changed();
  }

  function shuffle() {
    const rest = st.items.slice(st.index + 1);
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [rest[i], rest[j]] = [rest[j], rest[i]];
    }
    st.items.splice(st.index + 1, rest.length, ...rest);
    changed();
    shell.toast(rest.length > 1 ? "Shuffled what is left" : "Nothing left to shuffle");
  }

  // Dragging a row by its handle (mouse, pen or finger): the row follows the pointer.
  function dragStart(e, i) {
    if (e.button > 0) return;
    const handle = e.currentTarget;
    const rows = [...list.children];
    const h = rows[i].getBoundingClientRect().height || 44;
    const y0 = e.clientY;
    let to = i;
    handle.setPointerCapture(e.pointerId);
    rows[i].classList.add("dragging");
    const moveFn = (ev) => {
      const dy = ev.clientY - y0;
      to = Math.max(0, Math.min(st.items.length - 1, i + Math.round(dy / h)));
      rows[i].style.transform = `translateY(${dy}px)`;
    };
    const up = () => {
      handle.removeEventListener("pointermove", moveFn);
      rows[i].classList.remove("dragging");
      rows[i].style.transform = "";
      move(i, to);
    };
    handle.addEventListener("pointermove", moveFn);
    handle.addEventListener("pointerup", up, { once: true });
    handle.addEventListener("pointercancel", up, { once: true });
  }

  function render() {
    list.replaceChildren();
    st.items.forEach((t, i) => {
      const cur = i === st.index;
      const song = songOf(t);
      list.append(el("li", { "aria-current": cur ? "true" : null },
        el("button", { class: "btn icon handle", "aria-label": `Move ${t.title} (arrow keys)`, title: "Drag to reorder",
          onpointerdown: (e) => dragStart(e, i),
          onkeydown: (e) => {
            if (e.key === "ArrowUp") { e.preventDefault(); move(i, i - 1); }
            else if (e.key === "ArrowDown") { e.preventDefault(); move(i, i + 1); }
          } }, icon("drag", 18)),
        el("button", { class: "name", onclick: () => jump(i) },
          el("span", { class: "t" }, cur ? icon("play", 14) : null, `${cur ? " " : ""}${t.title}${t.songs > 1 ? ` (song ${song})` : ""}`),
          el("span", { class: "s", text: t.author })),
        el("button", { class: "btn icon", "aria-label": `Remove ${t.title} from the queue`, title: "Remove",
          onclick: () => remove(i) }, icon("close", 16))));
    });
    if (!st.items.length) list.append(el("li", { class: "empty", text: "The queue is empty: use + on a tune." }));
  }

  // Plays item i; the queue's position moves only when the box accepts the song.
  async function jump(i, opts = {}) {
    const t = st.items[i];
    if (!t) return null;
    const tr = await player.load(t, opts.song || songOf(t), opts);
    if (tr) { st.index = i; changed(); }
    return tr;
  }

  /** A click on a tune: it plays, in place of the current item (or first, if none). */
  async function playNow(t, song = t.start_song, opts = {}) {
    const item = keep(song !== t.start_song ? { ...t, pick_song: song } : t);
    const tr = await player.load(item, song, opts);
    if (!tr) return null; // refused: the queue is as it was
    if (st.index >= 0) st.items[st.index] = item;
    else { st.items.unshift(item); st.index = 0; }
    changed();
    return tr;
  }

  function enqueue(t) {
    if (st.items.length >= MAX) { shell.toast(`The queue holds ${MAX} songs at most.`); return; }
    st.items.push(keep(t)); changed(); shell.toast(`Queued: ${t.title}`);
  }
  function playNext(t) {
    if (st.items.length >= MAX) { shell.toast(`The queue holds ${MAX} songs at most.`); return; }
    st.items.splice(st.index + 1, 0, keep(t)); changed(); shell.toast(`Plays next: ${t.title}`);
  }

  // Next (d = 1) or previous (d = -1); `auto`: the song ended by itself.
  async function step(d, { auto = false } = {}) {
    if (auto && st.repeat === "one" && st.items[st.index]) return jump(st.index);
    let i = st.index + d;
    if (i >= st.items.length && st.repeat === "all" && st.items.length) i = 0;
    if (i < 0 || i >= st.items.length) {
      if (d > 0 && st.radio && !box.active()) return radioNext();
      if (box.active() && d > 0) box.next();
      return null;
    }
    return jump(i);
  }

  function setRadio(on) {
    st.radio = on;
    radioBtn.setAttribute("aria-pressed", String(on));
    // Nothing playing and nothing left: the radio starts now (also while paused).
    if (on && (!player.tune || player.paused) && !box.active() && st.index >= st.items.length - 1) radioNext();
  }

  async function radioNext() {
    const q = loadPrefs().radio;
    try {
      const d = await api(`/api/radio?n=1&quality=${encodeURIComponent(q)}&exclude=${st.recent.join(",")}`);
      const p = d.picks[0];
      if (!p) { shell.toast(q === "liked" ? "Radio: nothing rated well yet. Like some songs first." : "Radio: nothing to play."); setRadio(false); return null; }
      const item = keep({ ...p.tune, pick_song: p.song });
      const tr = await player.load(item, p.song);
      if (!tr) return null;
      st.items.splice(st.index + 1, 0, item);
      st.index++;
      changed();
      return tr;
    } catch (e) { shell.error(`Radio: ${e.message}`); return null; }
  }

  /** Play on a fresh page: the current item (where it was), else `fallback()`. */
  async function resume(fallback) {
    if (st.items[st.index]) return jump(st.index, { song: st.song || undefined, at: st.at });
    if (st.items.length) return jump(0);
    if (st.radio) return radioNext();
    return fallback();
  }

  // Tunes played lately, kept out of the radio's picks.
  player.on("track", ({ tune }) => {
    st.recent = [tune.md5, ...st.recent.filter((m) => m !== tune.md5)].slice(0, 20);
    st.song = null; st.at = 0;
  });
  player.bindQueue({ next: () => step(1), previous: () => step(-1) });

  showRepeat();
  render();
  return {
    el: card,
    get items() { return st.items; },
    get index() { return st.index; },
    get repeat() { return st.repeat; },
    /** The item to show on a fresh page (kept from last time), with its song and position. */
    get restored() { return st.items[st.index] ? { tune: st.items[st.index], song: st.song || songOf(st.items[st.index]), at: st.at } : null; },
    current() { return st.items[st.index]; },
    enqueue, playNext, playNow, step, resume, jump,
    // Replaces the whole queue (a loaded playlist) and plays its first item.
    async replace(items) { st.items = items.map(keep).slice(0, MAX); st.index = -1; changed(); if (st.items.length) await jump(0); },
    // "Listen live": nothing of the queue plays.
    unmark() { st.index = -1; changed(); },
  };
}
