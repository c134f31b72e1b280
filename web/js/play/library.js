// The library: folders and tunes of the box's collection, breadcrumbs and search. It only
// shows; what a click does is the caller's (`onPlay`, `onQueue`).
import { api, el, fmtTime, icon } from "../api.js";

export function createLibrary({ shell, onPlay, onQueue }) {
  const search = el("input", { type: "search", id: "search", placeholder: "Search title, author, year or path  ( / )",
    "aria-label": "Search the library", autocomplete: "off" });
  const crumbs = el("nav", { class: "crumbs", "aria-label": "Folder" });
  const list = el("ul", { class: "list", id: "library", "aria-label": "Library" });
  const lastPlayed = el("p", { class: "muted", id: "last-played", "aria-live": "polite" });
  const card = el("div", { class: "card" }, el("h2", { text: "Library" }), search, crumbs, list, lastPlayed);
  let folder = "";

  function tuneRow(t) {
    const dur = t.durations_ms && t.durations_ms[t.start_song - 1];
    return el("li", { class: "tune" },
      el("button", { class: "name", onclick: () => onPlay(t), "aria-label": `Play ${t.title} by ${t.author}` },
        el("span", { class: "t", text: t.title || t.path }),
        el("span", { class: "s", text: [t.author, t.released, t.songs > 1 ? `${t.songs} songs` : null].filter(Boolean).join(" · ") })),
      el("span", { class: "dur", text: dur ? fmtTime(dur / 1000) : "" }),
      el("button", { class: "btn icon", "aria-label": `Add ${t.title} to the queue`, title: "Add to queue",
        onclick: () => onQueue(t) }, icon("plus")));
  }

  function showTunes(tunes, folders = []) {
    list.replaceChildren();
    for (const f of folders) {
      list.append(el("li", { class: "folder" },
        el("button", { class: "name", onclick: () => browse(f.path), "aria-label": `Open folder ${f.name}` },
          el("span", { class: "t" }, icon("folder", 16), ` ${f.name}`), el("span", { class: "s", text: `${f.tunes} tunes` }))));
    }
    for (const t of tunes) list.append(tuneRow(t));
    if (!folders.length && !tunes.length) list.append(el("li", { class: "empty", text: "Nothing here." }));
  }

  async function browse(path) {
    folder = path;
    try {
      const d = await api(`/api/library/browse?path=${encodeURIComponent(path)}`);
      crumbs.replaceChildren(el("button", { text: "Library", onclick: () => browse("") }));
      let acc = "";
      for (const part of d.path ? d.path.split("/") : []) {
        acc = acc ? `${acc}/${part}` : part;
        const p = acc;
        crumbs.append(" / ", el("button", { text: part, onclick: () => browse(p) }));
      }
      showTunes(d.tunes, d.folders);
      if (d.scanning && !d.tunes.length && !d.folders.length) setTimeout(() => browse(path), 1000);
    } catch (e) { shell.error(e.message); }
  }

  let searchTimer = null, searchAbort = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = search.value.trim();
      if (!q) return browse(folder);
      searchAbort?.abort();
      searchAbort = new AbortController();
      try {
        const d = await api(`/api/library/search?q=${encodeURIComponent(q)}&limit=200`, { signal: searchAbort.signal });
        crumbs.replaceChildren(el("span", { class: "muted", text: `${d.tunes.length} result(s) for “${q}”` }));
        showTunes(d.tunes);
      } catch (e) { if (e.name !== "AbortError") shell.error(e.message); }
    }, 180);
  });

  return {
    el: card,
    browse,
    focusSearch() { search.focus(); },
    setLastPlayed(text) { lastPlayed.textContent = text; },
  };
}
