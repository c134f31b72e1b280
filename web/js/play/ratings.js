// Rating the song that plays: like, dislike, skip, stars. Sent to the box, which counts them
// for everyone (and the radio follows them).
import { api, el, icon } from "../api.js";

export function createRatings({ shell, current, skip }) {
  const like = el("button", { class: "btn", id: "like", "aria-pressed": "false", onclick: () => rate("like") }, icon("up", 16), " Like");
  const dislike = el("button", { class: "btn", id: "dislike", "aria-pressed": "false", onclick: () => rate("dislike") }, icon("down", 16), " Dislike");
  const skipBtn = el("button", { class: "btn", id: "skip", onclick: () => { rate("skip"); skip(); } }, icon("next", 16), " Skip");
  const stars = el("fieldset", { class: "stars", id: "stars" }, el("legend", { class: "sr", text: "Stars" }));
  for (let i = 1; i <= 5; i++) {
    const id = `star-${i}`;
    const input = el("input", { type: "radio", name: "stars", id, value: String(i), onchange: () => rate("stars", i) });
    stars.append(input, el("label", { for: id, title: `${i} star${i > 1 ? "s" : ""}`, text: "★" },
      el("span", { class: "sr", text: `${i} star${i > 1 ? "s" : ""}` })));
  }
  const group = el("div", { class: "rate", role: "group", "aria-label": "Rate this song" }, like, dislike, skipBtn, stars);

  function setEnabled(on) {
    for (const b of [like, dislike, skipBtn, ...stars.querySelectorAll("input")]) b.disabled = !on;
  }

  // A new song: nothing rated yet.
  function reset() {
    setEnabled(true);
    for (const b of [like, dislike]) b.setAttribute("aria-pressed", "false");
    for (const r of stars.querySelectorAll("input")) r.checked = false;
  }

  async function rate(action, n) {
    const cur = current();
    if (!cur) return;
    try {
      await api("/api/rate", { method: "POST", body: { md5: cur.tune.md5, song: cur.song, action, stars: n } });
      if (action === "like" || action === "dislike") {
        like.setAttribute("aria-pressed", String(action === "like"));
        dislike.setAttribute("aria-pressed", String(action === "dislike"));
      }
      shell.toast(action === "stars" ? `Rated ${n} star${n > 1 ? "s" : ""}` : `Thanks: ${action} saved`);
    } catch (e) { shell.error(`Rating not saved: ${e.message}`); }
  }

  setEnabled(false);
  return { el: group, setEnabled, reset };
}
