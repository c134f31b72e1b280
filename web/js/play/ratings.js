// Rating the song that plays: like, dislike, skip, stars. The box counts them for everyone
// (the radio follows them); this browser remembers the listener's own rating of each song
// (by the tune's MD5 and the song) and shows it again. Like and Dislike are toggles, a star
// pressed again takes the stars back, and a change replaces the earlier rating on the box
// instead of adding to it.
import { api, el, icon } from "../api.js";

const KEY = "sidflow.ratings";
const MAX = 5000;

function loadMine() {
  try { const m = JSON.parse(localStorage.getItem(KEY) || "{}"); return m && typeof m === "object" ? m : {}; }
  catch { return {}; }
}

/** The listener's own rating of a song: {v: "like"|"dislike"|null, s: 0-5}. */
export function myRating(md5, song) {
  const r = loadMine()[`${md5}:${song}`];
  return { v: r?.v || null, s: r?.s || 0 };
}

function remember(md5, song, r) {
  const m = loadMine();
  const k = `${md5}:${song}`;
  if (!r.v && !r.s) delete m[k]; else m[k] = { v: r.v, s: r.s, t: Date.now() };
  const keys = Object.keys(m);
  if (keys.length > MAX) keys.sort((a, b) => (m[a].t || 0) - (m[b].t || 0)).slice(0, keys.length - MAX).forEach((x) => delete m[x]);
  try { localStorage.setItem(KEY, JSON.stringify(m)); } catch { /* full: the box still counted it */ }
}

export function createRatings({ shell, current, skip }) {
  const like = el("button", { class: "btn", id: "like", "aria-pressed": "false", onclick: () => toggle("like") }, icon("up", 16), " Like");
  const dislike = el("button", { class: "btn", id: "dislike", "aria-pressed": "false", onclick: () => toggle("dislike") }, icon("down", 16), " Dislike");
  const skipBtn = el("button", { class: "btn", id: "skip", onclick: () => { send({ action: "skip" }, "Skipped"); skip(); } }, icon("next", 16), " Skip");
  const stars = el("fieldset", { class: "stars", id: "stars" }, el("legend", { class: "sr", text: "Stars" }));
  const labels = [];
  for (let i = 1; i <= 5; i++) {
    const id = `star-${i}`;
    const input = el("input", { type: "radio", name: "stars", id, value: String(i), onclick: () => rateStars(i) });
    const label = el("label", { for: id, title: `${i} star${i > 1 ? "s" : ""}` },
      el("span", { "aria-hidden": "true", text: "★" }), el("span", { class: "sr", text: `${i} star${i > 1 ? "s" : ""}` }));
    labels.push(label);
    stars.append(input, label);
  }
  const group = el("div", { class: "rate", role: "group", "aria-label": "Rate this song" }, like, dislike, skipBtn, stars);
  let mine = { v: null, s: 0 };

  function show() {
    like.setAttribute("aria-pressed", String(mine.v === "like"));
    dislike.setAttribute("aria-pressed", String(mine.v === "dislike"));
    labels.forEach((l, i) => l.classList.toggle("on", i < mine.s));
    for (const r of stars.querySelectorAll("input")) r.checked = Number(r.value) === mine.s;
  }

  function setEnabled(on) {
    for (const b of [like, dislike, skipBtn, ...stars.querySelectorAll("input")]) b.disabled = !on;
  }

  // A new song: what this listener said about it before.
  function reset() {
    setEnabled(true);
    const cur = current();
    mine = cur ? myRating(cur.tune.md5, cur.song) : { v: null, s: 0 };
    show();
  }

  async function send(body, said) {
    const cur = current();
    if (!cur) return false;
    try {
      await api("/api/rate", { method: "POST", body: { md5: cur.tune.md5, song: cur.song, ...body } });
      shell.toast(said);
      return true;
    } catch (e) { shell.error(`Rating not saved: ${e.message}`); return false; }
  }

  async function toggle(v) {
    const cur = current();
    if (!cur) return;
    const before = mine.v;
    const body = before === v ? { action: v, undo: true }
      : before ? { action: v, replaces: { action: before } } : { action: v };
    if (await send(body, before === v ? `${v === "like" ? "Like" : "Dislike"} taken back` : `Thanks: ${v} saved`)) {
      mine = { ...mine, v: before === v ? null : v };
      remember(cur.tune.md5, cur.song, mine);
    }
    show();
  }

  async function rateStars(n) {
    const cur = current();
    if (!cur) return;
    const before = mine.s;
    const body = before === n ? { action: "stars", stars: n, undo: true }
      : before ? { action: "stars", stars: n, replaces: { action: "stars", stars: before } } : { action: "stars", stars: n };
    if (await send(body, before === n ? "Stars taken back" : `Rated ${n} star${n > 1 ? "s" : ""}`)) {
      mine = { ...mine, s: before === n ? 0 : n };
      remember(cur.tune.md5, cur.song, mine);
    }
    show();
  }

  setEnabled(false);
  return { el: group, setEnabled, reset };
}
