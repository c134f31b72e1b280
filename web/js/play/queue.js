// The queue: what plays next, its list on screen, and the radio (when the queue runs out, the
// box picks the next song, steered by the ratings).
import { api, el, icon } from "../api.js";
import { loadPrefs } from "../prefs.js";

export const songOf = (t) => t.pick_song || t.start_song;

export function createQueue({ shell, box, player }) {
  const st = { items: [], index: -1, radio: false, recent: [] };
  const list = el("ul", { class: "list", id: "queue", "aria-label": "Queue" });
  const radioBtn = el("button", { class: "btn", id: "radio", text: "Radio", "aria-pressed": "false",
    title: "Keep playing songs the box picks when the queue runs out", onclick: () => setRadio(!st.radio) });
  const card = el("div", { class: "card" }, el("div", { class: "row" }, el("h2", { text: "Queue", style: "margin:0" }),
    el("div", { class: "spacer" }), radioBtn,
    el("button", { class: "btn", text: "Clear", onclick: () => { st.items = []; st.index = -1; render(); } })), list);

  function render() {
    list.replaceChildren();
    st.items.forEach((t, i) => {
      list.append(el("li", { "aria-current": i === st.index ? "true" : null },
        el("button", { class: "name", onclick: () => { st.index = i; player.start(t, songOf(t)); }, "aria-label": `Play ${t.title} from the queue` },
          el("span", { class: "t" }, i === st.index ? icon("play", 14) : null, ` ${t.title}`), el("span", { class: "s", text: t.author })),
        el("button", { class: "btn icon", "aria-label": `Remove ${t.title} from the queue`,
          onclick: () => { st.items.splice(i, 1); if (st.index >= i) st.index--; render(); } }, icon("close", 16))));
    });
    if (!st.items.length) list.append(el("li", { class: "empty", text: "The queue is empty: use + on a tune." }));
  }

  function enqueue(t) { st.items.push(t); render(); shell.toast(`Queued: ${t.title}`); }
  function playNow(t) { st.items.splice(st.index + 1, 0, t); st.index++; render(); player.start(t, t.start_song); }
  function step(d) {
    const i = st.index + d;
    if (i < 0 || i >= st.items.length) {
      if (d > 0 && st.radio && !box.active()) radioNext();
      else if (box.active() && d > 0) box.next();
      return;
    }
    st.index = i; render(); player.start(st.items[i], songOf(st.items[i]));
  }

  function setRadio(on) {
    st.radio = on;
    radioBtn.setAttribute("aria-pressed", String(on));
    if (on && (!player.session || player.ended) && !box.active() && st.index >= st.items.length - 1) radioNext();
  }

  async function radioNext() {
    const q = loadPrefs().radio;
    try {
      const d = await api(`/api/radio?n=1&quality=${encodeURIComponent(q)}&exclude=${st.recent.join(",")}`);
      const p = d.picks[0];
      if (!p) { shell.toast(q === "liked" ? "Radio: nothing rated well yet. Like some songs first." : "Radio: nothing to play."); setRadio(false); return; }
      st.items.push({ ...p.tune, pick_song: p.song });
      st.index = st.items.length - 1;
      render();
      player.start(st.items[st.index], p.song);
    } catch (e) { shell.error(`Radio: ${e.message}`); }
  }

  // Tunes played lately, kept out of the radio's picks.
  player.on("track", ({ tune, session }) => {
    if (session) st.recent = [tune.md5, ...st.recent.filter((m) => m !== tune.md5)].slice(0, 20);
  });

  render();
  return {
    el: card,
    get items() { return st.items; },
    get index() { return st.index; },
    current() { return st.items[st.index]; },
    enqueue, playNow, step,
    // Replaces the whole queue (a loaded playlist); nothing is current.
    replace(items) { st.items = items; st.index = -1; render(); },
  };
}
