// The tunes this browser played with its own engine, kept in IndexedDB so they stay playable
// when the box cannot be reached (a .sid is a few KB). IndexedDB, not Cache Storage or a
// service worker: those need a secure context, which http://sidflow.local is not.
//
//   await putSid(md5, bytes)      keeps (or refreshes) a tune's file
//   await getSid(md5)             its bytes (ArrayBuffer) or null
//
// At most MAX tunes; the ones played longest ago go first. Every failure (private mode, a
// full disk, no IndexedDB) reads as "not kept": the page then simply needs the box.
const DB = "sidflow";
const STORE = "sids";
const MAX = 2000;

let opened = null;
function db() {
  opened ||= new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) { reject(new Error("no IndexedDB")); return; }
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      const s = r.result.createObjectStore(STORE, { keyPath: "md5" });
      s.createIndex("at", "at");
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onblocked = () => reject(new Error("IndexedDB blocked"));
  });
  opened.catch(() => { opened = null; });
  return opened;
}

const done = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/** The bytes of a tune kept earlier (ArrayBuffer), or null. */
export async function getSid(md5) {
  try {
    const d = await db();
    const row = await done(d.transaction(STORE).objectStore(STORE).get(md5));
    return row ? row.bytes : null;
  } catch { return null; }
}

/** Keeps a tune's bytes (its last play now); drops the oldest beyond MAX. */
export async function putSid(md5, bytes, path = "") {
  try {
    const d = await db();
    const tx = d.transaction(STORE, "readwrite");
    const s = tx.objectStore(STORE);
    s.put({ md5, bytes: bytes instanceof ArrayBuffer ? bytes : new Uint8Array(bytes).slice().buffer, path, at: Date.now() });
    const n = await done(s.count());
    if (n > MAX) {
      let extra = n - MAX;
      const cur = s.index("at").openCursor();
      await new Promise((resolve) => {
        cur.onsuccess = () => {
          const c = cur.result;
          if (!c || extra-- <= 0) { resolve(); return; }
          c.delete();
          c.continue();
        };
        cur.onerror = () => resolve();
      });
    }
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); tx.onabort = () => reject(tx.error); });
    return true;
  } catch { return false; }
}
