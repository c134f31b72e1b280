// The library: folders and tunes of the box's collection, breadcrumbs, search with filters
// (chip, clock, PSID/RSID, number of SIDs, years: scoped words of the box's search), sort
// (title, author, year, duration, your rating) and a random tune. It only shows; what a
// click does is the caller's (`onPlay`, `onQueue`, `onPlayNext`). The tune that plays is
// highlighted. Folders and results come a page at a time (PAGE rows, a pager below), so a
// folder or a search of 60 000 tunes never puts more than one page in the page; a
// composer's folder (HVSC's MUSICIANS/<letter>/<name>) shows the composer's years and
// STIL notes above its tunes.
import { api, el, fmtTime, icon } from "../api.js";
let myRating = () => ({ v: null, s: 0 });
const ratings$ = () => import("./ratings.js").then((m) => { myRating = m.myRating; });

const FILTERS = [["chip:6581", "6581"], ["chip:8580", "8580"], ["clock:pal", "PAL"], ["clock:ntsc", "NTSC"],
  ["type:psid", "PSID"], ["type:rsid", "RSID"], ["sids:2", "2 SIDs"], ["sids:3", "3 SIDs"]];
const SORTS = [["", "Folder order"], ["title", "Title"], ["author", "Author"], ["year", "Year"], ["duration", "Duration"],
  ["rating", "Your rating"]];

const PAGE = 100;
const year = (t) => { const y = parseInt((t.released || "").slice(0, 4), 10); return isFinite(y) ? y : 9999; };
const dur = (t) => (t.durations_ms && t.durations_ms[t.start_song - 1]) || 0;
const score = (t) => { const r = myRating(t.md5, t.start_song); return r.s + (r.v === "like" ? 3 : r.v === "dislike" ? -3 : 0); };
const BY = {
  title: (a, b) => (a.title || a.path).localeCompare(b.title || b.path),
  author: (a, b) => (a.author || "").localeCompare(b.author || "") || BY.title(a, b),
  year: (a, b) => year(a) - year(b) || BY.title(a, b),
  duration: (a, b) => dur(a) - dur(b) || BY.title(a, b),
  rating: (a, b) => score(b) - score(a) || BY.title(a, b),
};

export function createLibrary({ shell, onPlay, onQueue, onPlayNext, playing }) {
  const search = el("input", { type: "search", id: "search", placeholder: "Search title, author, year or path  ( / )",
    "aria-label": "Search the library", autocomplete: "off" });
  const chips = FILTERS.map(([q, label]) => el("button", { class: "btn chip", "aria-pressed": "false", "data-q": q, text: label,
    onclick: (e) => { const b = e.currentTarget; b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true")); run(); } }));
  const from = el("input", { type: "number", id: "year-from", min: "1980", max: "2100", placeholder: "from", "aria-label": "Released from year" });
  const to = el("input", { type: "number", id: "year-to", min: "1980", max: "2100", placeholder: "to", "aria-label": "Released up to year" });
  const sort = el("select", { id: "sort", "aria-label": "Sort by" }, ...SORTS.map(([v, t]) => el("option", { value: v, text: t })));
  const random = el("button", { class: "btn", id: "random", title: "Play a random tune", onclick: playRandom }, icon("dice", 16), " Random");
  const filters = el("details", { class: "filters" }, el("summary", { text: "Filters" }),
    el("div", { class: "row", role: "group", "aria-label": "Filters" }, ...chips,
      el("span", { class: "years" }, "Years", from, "–", to)));
  const crumbs = el("nav", { class: "crumbs", "aria-label": "Folder" });
  const list = el("ul", { class: "list", id: "library", "aria-label": "Library" });
  const about = el("p", { class: "muted", id: "composer" });
  const pageInfo = el("span", { class: "muted", id: "page-info" });
  const prev = el("button", { class: "btn", id: "page-prev", text: "‹ Previous", onclick: () => turn(-1) });
  const next = el("button", { class: "btn", id: "page-next", text: "Next ›", onclick: () => turn(1) });
  const pager = el("nav", { class: "row", id: "pager", "aria-label": "Pages", hidden: true }, prev, pageInfo, next);
  const lastPlayed = el("p", { class: "muted", id: "last-played", "aria-live": "polite" });
  const card = el("section", { class: "card", "aria-labelledby": "library-h" }, el("h2", { id: "library-h", text: "Library" }),
    search, el("div", { class: "row tools" }, sort, random), filters, crumbs, about, list, pager, lastPlayed);
  let folder = "";
  // What the pager pages: a folder's tunes or a query's results, and how many there are.
  let paged = { load: null, offset: 0, total: 0 };
  let shown = { tunes: [], folders: [] };

  function tuneRow(t) {
    const d = dur(t);
    const cur = playing();
    return el("li", { class: "tune", "data-md5": t.md5, "aria-current": cur && cur.md5 === t.md5 ? "true" : null },
      el("button", { class: "name", onclick: () => onPlay(t) },
        el("span", { class: "t", text: t.title || t.path }),
        el("span", { class: "s", text: [t.author, t.released, t.songs > 1 ? `${t.songs} songs` : null].filter(Boolean).join(" · ") })),
      el("span", { class: "dur", text: d ? fmtTime(d / 1000) : "" }),
      el("button", { class: "btn icon", "aria-label": `Play ${t.title} next`, title: "Play next",
        onclick: () => onPlayNext(t) }, icon("next", 18)),
      el("button", { class: "btn icon", "aria-label": `Add ${t.title} to the queue`, title: "Add to queue",
        onclick: () => onQueue(t) }, icon("plus")));
  }

  function show() {
    const tunes = sort.value ? [...shown.tunes].sort(BY[sort.value]) : shown.tunes;
    list.replaceChildren();
    for (const f of shown.folders) {
      list.append(el("li", { class: "folder" },
        el("button", { class: "name", onclick: () => browse(f.path) },
          el("span", { class: "t" }, icon("folder", 16), ` ${f.name}`), el("span", { class: "s", text: `${f.tunes} tunes` }))));
    }
    for (const t of tunes) list.append(tuneRow(t));
    if (!shown.folders.length && !tunes.length) list.append(el("li", { class: "empty", text: "Nothing here." }));
  }

  function showTunes(tunes, folders = []) { shown = { tunes, folders }; show(); }

  function showPager(offset, count, total) {
    paged.offset = offset; paged.total = total;
    pager.hidden = total <= PAGE;
    pageInfo.textContent = count ? `${offset + 1}–${offset + count} of ${total}` : `${total}`;
    prev.disabled = offset === 0;
    next.disabled = offset + PAGE >= total;
  }

  function turn(dir) {
    const o = Math.max(0, paged.offset + dir * PAGE);
    if (paged.load && o < paged.total) paged.load(o).then(() => list.scrollIntoView?.({ block: "nearest" }));
  }

  async function browse(path, offset = 0) {
    folder = path;
    paged.load = (o) => browse(path, o);
    try {
      const d = await api(`/api/library/browse?path=${encodeURIComponent(path)}&offset=${offset}&limit=${PAGE}`);
      crumbs.replaceChildren(el("button", { text: "Library", onclick: () => browse("") }));
      let acc = "";
      for (const part of d.path ? d.path.split("/") : []) {
        acc = acc ? `${acc}/${part}` : part;
        const p = acc;
        crumbs.append(" / ", el("button", { text: part, onclick: () => browse(p) }));
      }
      const c = d.composer;
      about.textContent = c ? [c.name, c.years ? `${c.years[0]}–${c.years[1]}` : null, `${c.tunes} tunes, ${c.songs} songs`,
        c.stil_comment].filter(Boolean).join(" · ") : "";
      showTunes(d.tunes, offset ? [] : d.folders);
      showPager(offset, d.tunes.length, d.own_tunes ?? d.tunes.length);
      if (d.scanning && !d.tunes.length && !d.folders.length) setTimeout(() => browse(path), 1000);
    } catch (e) { shell.error(e.message); }
  }

  // The query: the words typed plus the chosen filters.
  function query() {
    const parts = [search.value.trim(), ...chips.filter((c) => c.getAttribute("aria-pressed") === "true").map((c) => c.dataset.q)];
    if (from.value || to.value) parts.push(`year:${from.value || "0"}..${to.value || "9999"}`);
    return parts.filter(Boolean).join(" ");
  }

  // Search as you type: one request per pause in typing, the previous one aborted.
  let searchTimer = null, searchAbort = null;
  async function find(q, offset) {
    searchAbort?.abort();
    searchAbort = new AbortController();
    paged.load = (o) => find(q, o);
    try {
      const d = await api(`/api/library/search?q=${encodeURIComponent(q)}&offset=${offset}&limit=${PAGE}`, { signal: searchAbort.signal });
      crumbs.replaceChildren(el("span", { class: "muted", text: `${d.total} result(s) for “${q}”` }));
      about.textContent = "";
      showTunes(d.tunes);
      showPager(offset, d.tunes.length, Math.min(d.total, 1000));
    } catch (e) {
      // A query the box cannot read (often half-typed) is said beside the box, not as an alarm.
      if (e.name !== "AbortError") crumbs.replaceChildren(el("span", { class: "muted", role: "status", text: e.message }));
    }
  }
  function run() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      const q = query();
      if (!q) { searchAbort?.abort(); return browse(folder); }
      find(q, 0);
    }, 200);
  }
  search.addEventListener("input", run);
  from.addEventListener("change", run);
  to.addEventListener("change", run);
  sort.addEventListener("change", async () => { if (sort.value === "rating") await ratings$(); show(); });

  async function playRandom() {
    try {
      const d = await api("/api/radio?n=1&quality=any");
      if (d.picks[0]) onPlay(d.picks[0].tune);
      else shell.toast("The library is empty.");
    } catch (e) { shell.error(e.message); }
  }

  return {
    el: card,
    browse,
    focusSearch() { search.focus(); },
    setLastPlayed(text) { lastPlayed.textContent = text; },
    firstTune() { const li = list.querySelector("li.tune"); return li ? shown.tunes.find((t) => t.md5 === li.dataset.md5) : null; },
    // The playing tune is marked (and a sort by rating follows a new rating).
    highlight() {
      const cur = playing();
      for (const li of list.querySelectorAll("li.tune")) {
        if (cur && li.dataset.md5 === cur.md5) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current");
      }
    },
  };
}
