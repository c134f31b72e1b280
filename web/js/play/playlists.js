// Saved playlists: the queue kept on the box under a name, shared by everyone on the network.
// Two names that make the same id do not overwrite each other (the second gets its own id);
// replacing a playlist of the same name and deleting one ask first.
import { api, el } from "../api.js";
import { songOf } from "./queue.js";

const slug = (name) => name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);

export function createPlaylists({ shell, queue }) {
  const sel = el("select", { id: "playlists", "aria-label": "Saved playlists" });
  const name = el("input", { type: "text", id: "playlist-name", placeholder: "Playlist name", "aria-label": "Name to save the queue as",
    maxlength: "100", autocomplete: "off" });
  const row = el("div", { class: "row" }, sel,
    el("button", { class: "btn", id: "playlist-load", text: "Load", onclick: () => load(sel.value) }),
    el("button", { class: "btn", id: "playlist-delete", text: "Delete", onclick: () => remove(sel.value) }),
    name, el("button", { class: "btn", id: "playlist-save", text: "Save queue", onclick: () => save(name.value) }));

  let known = [];
  async function refresh(select = sel.value) {
    try {
      const d = await api("/api/playlists");
      known = d.playlists;
      sel.replaceChildren(el("option", { value: "", text: d.playlists.length ? "Saved playlists" : "No saved playlists" }),
        ...d.playlists.map((p) => el("option", { value: p.id, selected: p.id === select, text: `${p.name} (${p.count})` })));
    } catch { /* the offline banner says it */ }
  }

  async function save(n) {
    n = n.trim();
    if (!n) { shell.toast("Give the playlist a name first."); name.focus(); return; }
    let id = slug(n) || "playlist";
    try {
      await refresh();
      const same = known.find((p) => p.id === id);
      if (same && same.name.trim().toLowerCase() === n.toLowerCase()) {
        if (!await shell.confirm(`Replace the saved playlist “${same.name}” (${same.count} songs) with the queue?`, { ok: "Replace" })) return;
      } else if (same) {
        // Another name that makes the same id: a fresh id, so neither is lost.
        const base = id.slice(0, 58).replace(/-+$/, "");
        let i = 2;
        while (known.some((p) => p.id === `${base}-${i}`)) i++;
        id = `${base}-${i}`;
      }
      await api(`/api/playlists/${id}`, { method: "PUT",
        body: { name: n, items: queue.items.map((t) => ({ md5: t.md5, song: songOf(t) })) } });
      shell.toast(`Saved: ${n} (${queue.items.length} songs)`);
      name.value = "";
      refresh(id);
    } catch (e) { shell.error(`Cannot save the playlist: ${e.message}`); }
  }

  async function load(id) {
    if (!id) { shell.toast("Choose a saved playlist first."); return; }
    try {
      const p = await api(`/api/playlists/${id}`);
      const items = p.items.filter((it) => it.tune).map((it) => ({ ...it.tune, pick_song: it.song }));
      const gone = p.items.length - items.length;
      shell.toast(`Loaded: ${p.name}${gone ? ` (${gone} no longer in the library)` : ""}`);
      await queue.replace(items);
    } catch (e) { shell.error(`Cannot load the playlist: ${e.message}`); }
  }

  async function remove(id) {
    if (!id) { shell.toast("Choose a saved playlist first."); return; }
    const p = known.find((x) => x.id === id);
    if (!await shell.confirm(`Delete the playlist “${p ? p.name : id}” for everyone on this box?`, { ok: "Delete", danger: true })) return;
    try { await api(`/api/playlists/${id}`, { method: "DELETE", body: {} }); shell.toast("Playlist deleted"); refresh(""); }
    catch (e) { shell.error(`Cannot delete the playlist: ${e.message}`); }
  }

  refresh();
  return { el: row, refresh };
}
