//! The compact in-memory search structure: everything search and browse need, and nothing
//! the display needs (that is read from the index on disk for the few tunes shown).
//!
//! Per tune it keeps a fixed 52-byte [`Slot`] (MD5, folder, start-song length, year, chip,
//! clock, type, SIDs, songs) and its folded title, author, released and file name in one
//! shared byte arena, plus the original file name (to rebuild the path). Folders are interned
//! once. A sorted vocabulary of the title and author words with posting lists answers
//! "a word starts with" and "one typo away" without looking at every tune. On a generated
//! 60 000-tune library this is ~10 MB (see `doc/performance.md`).
//!
//! Tune ids are dense (`0..len`) and ordered by folder path, then file name, so a folder's
//! own tunes are one id range and "path order" is id order.

use crate::fold::{fold_into, within_one_edit, words};
use crate::query::{Filter, Query, Scope, Term};
use crate::record::Record;
use memchr::memmem;
use std::collections::HashMap;

/// Separates the folded fields of one tune in the text arena (never in folded text).
const SEP: u8 = 0x1f;
/// Folded fields longer than this are cut (HVSC's header strings are at most 32 bytes).
const MAX_FIELD: usize = 255;

const TITLE: usize = 0;
const AUTHOR: usize = 1;
const RELEASED: usize = 2;
const FILE: usize = 3;

/// What the catalog keeps per tune.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub md5: [u8; 16],
    /// Start of the folded fields in `Catalog::text`.
    text: u32,
    /// Start of the original file name in `Catalog::names`.
    name: u32,
    pub folder: u32,
    /// The start song's length in milliseconds, 0 if unknown.
    pub duration_ms: u32,
    pub songs: u16,
    pub start_song: u16,
    pub year: u16,
    name_len: u16,
    /// Folded lengths of title, author, released, file name.
    lens: [u8; 4],
    /// chip (bits 0-1), clock (2-3), RSID (4), SIDs - 1 (5-6).
    kind: u8,
}

impl Slot {
    pub fn chip(&self) -> u8 {
        self.kind & 3
    }
    pub fn clock(&self) -> u8 {
        (self.kind >> 2) & 3
    }
    pub fn format(&self) -> u8 {
        (self.kind >> 4) & 1
    }
    pub fn sids(&self) -> u8 {
        ((self.kind >> 5) & 3) + 1
    }
    /// Start and length of field `f` in the text arena.
    fn field(&self, f: usize) -> (usize, usize) {
        let mut at = self.text as usize;
        for i in 0..f {
            at += usize::from(self.lens[i]) + 1;
        }
        (at, usize::from(self.lens[f]))
    }
    fn text_end(&self) -> usize {
        self.text as usize + self.lens.iter().map(|&l| usize::from(l) + 1).sum::<usize>()
    }
}

#[derive(Debug, Clone, Copy)]
struct Folder {
    parent: u32,
    /// The original path (`MUSICIANS/H/Hubbard_Rob`) in `Catalog::folder_text`.
    path: (u32, u32),
    /// The folded path in `Catalog::folder_text`.
    folded: (u32, u32),
    children: (u32, u32),
    /// The folder's own tunes: an id range.
    tunes: (u32, u32),
    /// Tunes in the folder and below it.
    total: u32,
}

/// The distinct words of titles and authors, sorted, each with the tunes that use it.
#[derive(Debug, Default)]
struct Vocab {
    bytes: Vec<u8>,
    /// (start in `bytes`, length, first posting); postings run to the next word's start.
    words: Vec<(u32, u8, u32)>,
    /// `tune id << 1 | field` (0 title, 1 author), sorted per word.
    postings: Vec<u32>,
}

impl Vocab {
    fn word(&self, i: usize) -> &[u8] {
        let (at, len, _) = self.words[i];
        &self.bytes[at as usize..at as usize + usize::from(len)]
    }
    fn postings(&self, i: usize) -> &[u32] {
        let start = self.words[i].2 as usize;
        let end = self
            .words
            .get(i + 1)
            .map(|w| w.2 as usize)
            .unwrap_or(self.postings.len());
        &self.postings[start..end]
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    slots: Vec<Slot>,
    text: Vec<u8>,
    names: Vec<u8>,
    folders: Vec<Folder>,
    folder_text: Vec<u8>,
    child_ids: Vec<u32>,
    vocab: Vocab,
    /// (first 8 MD5 bytes, tune id), sorted.
    by_md5: Vec<(u64, u32)>,
}

/// Collects tunes (in any order) and builds a [`Catalog`].
#[derive(Default)]
pub(crate) struct Builder {
    slots: Vec<Slot>,
    text: Vec<u8>,
    names: Vec<u8>,
    folder_ids: HashMap<String, u32>,
    folder_paths: Vec<String>,
    scratch: String,
}

fn split_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

fn parent_of(folder: &str) -> &str {
    folder.rfind('/').map(|i| &folder[..i]).unwrap_or("")
}

impl Builder {
    fn intern(&mut self, folder: &str) -> u32 {
        if let Some(&id) = self.folder_ids.get(folder) {
            return id;
        }
        let id = self.folder_paths.len() as u32;
        self.folder_ids.insert(folder.to_string(), id);
        self.folder_paths.push(folder.to_string());
        id
    }

    /// Adds the tune at `path` (relative, `/`-separated).
    pub fn push(&mut self, path: &str, r: &Record) {
        let (folder, name) = split_path(path);
        let folder = self.intern(folder);
        let text = self.text.len() as u32;
        let stem = name
            .len()
            .checked_sub(4)
            .filter(|&i| name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(".sid"))
            .map(|i| &name[..i])
            .unwrap_or(name);
        let mut lens = [0u8; 4];
        for (i, s) in [r.title.as_str(), &r.author, &r.released, stem]
            .into_iter()
            .enumerate()
        {
            self.scratch.clear();
            fold_into(s, &mut self.scratch);
            let f = &self.scratch.as_bytes()[..self.scratch.len().min(MAX_FIELD)];
            lens[i] = f.len() as u8;
            self.text.extend_from_slice(f);
            self.text.push(SEP);
        }
        let name_at = self.names.len() as u32;
        self.names.extend_from_slice(name.as_bytes());
        let kind = (r.chip & 3)
            | ((r.clock & 3) << 2)
            | ((r.format & 1) << 4)
            | ((r.sids.clamp(1, 4) - 1) << 5);
        self.slots.push(Slot {
            md5: r.md5,
            text,
            name: name_at,
            folder,
            duration_ms: r.start_duration(),
            songs: r.songs,
            start_song: r.start_song,
            year: r.year(),
            name_len: name.len().min(u16::MAX as usize) as u16,
            lens,
            kind,
        });
    }

    pub fn finish(mut self) -> Catalog {
        // Every ancestor of a folder is a folder (the root "" included).
        self.intern("");
        let mut i = 0;
        while i < self.folder_paths.len() {
            let p = self.folder_paths[i].clone();
            if !p.is_empty() {
                self.intern(parent_of(&p));
            }
            i += 1;
        }
        let nf = self.folder_paths.len();
        let mut forder: Vec<u32> = (0..nf as u32).collect();
        forder.sort_by(|&a, &b| self.folder_paths[a as usize].cmp(&self.folder_paths[b as usize]));
        let mut rank = vec![0u32; nf];
        for (r, &f) in forder.iter().enumerate() {
            rank[f as usize] = r as u32;
        }

        // Tunes by (folder, file name).
        let names = &self.names;
        let name_of = |s: &Slot| &names[s.name as usize..s.name as usize + usize::from(s.name_len)];
        let mut order: Vec<u32> = (0..self.slots.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (sa, sb) = (&self.slots[a as usize], &self.slots[b as usize]);
            rank[sa.folder as usize]
                .cmp(&rank[sb.folder as usize])
                .then_with(|| name_of(sa).cmp(name_of(sb)))
        });
        let mut cat = Catalog {
            slots: Vec::with_capacity(order.len()),
            text: Vec::with_capacity(self.text.len()),
            names: Vec::with_capacity(self.names.len()),
            ..Catalog::default()
        };
        for &i in &order {
            let mut s = self.slots[i as usize];
            let (start, end) = (s.text as usize, s.text_end());
            s.text = cat.text.len() as u32;
            cat.text.extend_from_slice(&self.text[start..end]);
            let n = name_of(&self.slots[i as usize]);
            s.name = cat.names.len() as u32;
            cat.names.extend_from_slice(n);
            s.folder = rank[s.folder as usize];
            cat.slots.push(s);
        }
        drop(self.text);
        drop(self.names);

        // Folders in path order: parents sort before their children.
        let mut folded = String::new();
        for &f in &forder {
            let p = &self.folder_paths[f as usize];
            let path = (cat.folder_text.len() as u32, p.len() as u32);
            cat.folder_text.extend_from_slice(p.as_bytes());
            folded.clear();
            fold_into(p, &mut folded);
            let fpath = (cat.folder_text.len() as u32, folded.len() as u32);
            cat.folder_text.extend_from_slice(folded.as_bytes());
            let parent = if p.is_empty() {
                u32::MAX
            } else {
                rank[self.folder_ids[parent_of(p)] as usize]
            };
            cat.folders.push(Folder {
                parent,
                path,
                folded: fpath,
                children: (0, 0),
                tunes: (0, 0),
                total: 0,
            });
        }
        // Children lists (in path order = name order within one parent).
        let mut kids: Vec<Vec<u32>> = vec![Vec::new(); nf];
        for (id, f) in cat.folders.iter().enumerate().skip(1) {
            kids[f.parent as usize].push(id as u32);
        }
        for (id, k) in kids.into_iter().enumerate() {
            cat.folders[id].children = (cat.child_ids.len() as u32, k.len() as u32);
            cat.child_ids.extend(k);
        }
        // Own tune ranges, then totals bottom-up (children have higher ids than parents).
        let mut at = 0usize;
        while at < cat.slots.len() {
            let f = cat.slots[at].folder;
            let start = at;
            while at < cat.slots.len() && cat.slots[at].folder == f {
                at += 1;
            }
            let fo = &mut cat.folders[f as usize];
            fo.tunes = (start as u32, (at - start) as u32);
            fo.total = (at - start) as u32;
        }
        for id in (1..nf).rev() {
            let (p, t) = (cat.folders[id].parent, cat.folders[id].total);
            cat.folders[p as usize].total += t;
        }

        cat.vocab = build_vocab(&cat.slots, &cat.text);
        cat.by_md5 = cat
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (md5_key(&s.md5), i as u32))
            .collect();
        cat.by_md5.sort_unstable();
        cat
    }
}

fn md5_key(m: &[u8; 16]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&m[..8]);
    u64::from_be_bytes(k)
}

fn build_vocab(slots: &[Slot], text: &[u8]) -> Vocab {
    // Every word occurrence in a title or author: (start, length, posting).
    let mut occ: Vec<(u32, u8, u32)> = Vec::with_capacity(slots.len() * 6);
    for (id, s) in slots.iter().enumerate() {
        for f in [TITLE, AUTHOR] {
            let (at, len) = s.field(f);
            let field = &text[at..at + len];
            // `words` yields subslices: their offset within the field is pointer arithmetic.
            let Ok(field_str) = std::str::from_utf8(field) else {
                continue;
            };
            for w in words(field_str) {
                let off = w.as_ptr() as usize - field_str.as_ptr() as usize;
                occ.push((
                    (at + off) as u32,
                    w.len().min(255) as u8,
                    (id as u32) << 1 | f as u32,
                ));
            }
        }
    }
    let word = |o: &(u32, u8, u32)| &text[o.0 as usize..o.0 as usize + usize::from(o.1)];
    occ.sort_unstable_by(|a, b| word(a).cmp(word(b)).then(a.2.cmp(&b.2)));
    let mut v = Vocab::default();
    let mut i = 0;
    while i < occ.len() {
        let w = word(&occ[i]);
        v.words
            .push((v.bytes.len() as u32, w.len() as u8, v.postings.len() as u32));
        v.bytes.extend_from_slice(w);
        let mut last = u32::MAX;
        while i < occ.len() && word(&occ[i]) == w {
            if occ[i].2 != last {
                v.postings.push(occ[i].2);
                last = occ[i].2;
            }
            i += 1;
        }
    }
    v.bytes.shrink_to_fit();
    v
}

/// A set of tune ids.
#[derive(Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn set_range(&mut self, start: usize, len: usize) {
        for i in start..start + len {
            self.set(i);
        }
    }
    fn or(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    fn and(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a &= b;
        }
    }
    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let t = b.trailing_zeros() as usize;
                    b &= b - 1;
                    w * 64 + t
                })
            })
        })
    }
}

/// How one term matched, per tune.
struct TermHits {
    /// The term occurs as written (substring) in a field it may match.
    sub: Bits,
    /// A title or author word starts with the term.
    prefix: Bits,
    /// A title or author word is one typo away from the term.
    typo: Bits,
    /// Any of the above, in the title.
    title: Bits,
}

/// The ranking tiers, best first.
const EXACT: u8 = 0;
const FIELD_PREFIX: u8 = 1;
const WORD_PREFIX: u8 = 2;
const SUBSTRING: u8 = 3;
const TYPO: u8 = 4;

impl Catalog {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn slot(&self, id: u32) -> &Slot {
        &self.slots[id as usize]
    }

    fn field(&self, s: &Slot, f: usize) -> &[u8] {
        let (at, len) = s.field(f);
        &self.text[at..at + len]
    }

    pub fn name(&self, id: u32) -> &str {
        let s = &self.slots[id as usize];
        std::str::from_utf8(&self.names[s.name as usize..s.name as usize + usize::from(s.name_len)])
            .unwrap_or("")
    }

    /// The tune's path relative to the library root.
    pub fn path(&self, id: u32) -> String {
        let folder = self.folder_path(self.slots[id as usize].folder);
        let name = self.name(id);
        if folder.is_empty() {
            name.to_string()
        } else {
            format!("{folder}/{name}")
        }
    }

    pub fn folder_path(&self, f: u32) -> &str {
        let (at, len) = self.folders[f as usize].path;
        std::str::from_utf8(&self.folder_text[at as usize..(at + len) as usize]).unwrap_or("")
    }

    fn folder_folded(&self, f: u32) -> &[u8] {
        let (at, len) = self.folders[f as usize].folded;
        &self.folder_text[at as usize..(at + len) as usize]
    }

    /// The folder with this path (`""` is the root).
    pub fn folder(&self, path: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0usize, self.folders.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.folder_path(mid as u32).cmp(path) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    pub fn children(&self, f: u32) -> &[u32] {
        let (at, len) = self.folders[f as usize].children;
        &self.child_ids[at as usize..(at + len) as usize]
    }

    /// The folder's own tunes (not those of sub-folders).
    pub fn own_tunes(&self, f: u32) -> std::ops::Range<u32> {
        let (at, len) = self.folders[f as usize].tunes;
        at..at + len
    }

    /// Tunes in the folder and below it.
    pub fn total(&self, f: u32) -> u32 {
        self.folders[f as usize].total
    }

    /// Every tune in the folder and below it, in path order (folders depth-first).
    pub fn subtree(&self, f: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.total(f) as usize);
        let mut stack = vec![f];
        while let Some(f) = stack.pop() {
            out.extend(self.own_tunes(f));
            stack.extend(self.children(f).iter().rev());
        }
        out
    }

    /// The first tune (in path order) with this MD5.
    pub fn by_md5(&self, md5: &[u8; 16]) -> Option<u32> {
        let k = md5_key(md5);
        let start = self.by_md5.partition_point(|e| e.0 < k);
        self.by_md5[start..]
            .iter()
            .take_while(|e| e.0 == k)
            .map(|e| e.1)
            .filter(|&id| &self.slots[id as usize].md5 == md5)
            .min()
    }

    /// Bytes this catalog holds (capacity of its vectors).
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.text.capacity()
            + self.names.capacity()
            + self.folders.capacity() * std::mem::size_of::<Folder>()
            + self.folder_text.capacity()
            + self.child_ids.capacity() * 4
            + self.vocab.bytes.capacity()
            + self.vocab.words.capacity() * std::mem::size_of::<(u32, u8, u32)>()
            + self.vocab.postings.capacity() * 4
            + self.by_md5.capacity() * 16
    }

    fn passes(&self, s: &Slot, filters: &[Filter]) -> bool {
        filters.iter().all(|f| match *f {
            Filter::Year(r) => s.year != 0 && r.contains(u32::from(s.year)),
            Filter::Chip(c) => s.chip() == c,
            Filter::Clock(c) => s.clock() == c,
            Filter::Format(t) => s.format() == t,
            Filter::Sids(r) => r.contains(u32::from(s.sids())),
            Filter::Duration(r) => s.duration_ms != 0 && r.contains(s.duration_ms),
        })
    }

    /// Which fields a scope may match, as flags by field index.
    fn fields_of(scope: Scope) -> [bool; 4] {
        let only = |f: usize| std::array::from_fn(|i| i == f);
        match scope {
            Scope::Any => [true; 4],
            Scope::Title => only(TITLE),
            Scope::Author => only(AUTHOR),
            Scope::Released => only(RELEASED),
            Scope::Path => only(FILE),
        }
    }

    fn term_hits(&self, t: &Term) -> TermHits {
        let n = self.slots.len();
        let mut h = TermHits {
            sub: Bits::new(n),
            prefix: Bits::new(n),
            typo: Bits::new(n),
            title: Bits::new(n),
        };
        let allowed = Self::fields_of(t.scope);
        let needle = t.text.as_bytes();
        // Substrings: one pass over the arena; after a hit, continue at the next field.
        let finder = memmem::Finder::new(needle);
        let mut pos = 0usize;
        let mut id = 0usize;
        while let Some(off) = finder.find(&self.text[pos..]) {
            let at = pos + off;
            while id + 1 < n && self.slots[id + 1].text as usize <= at {
                id += 1;
            }
            let s = &self.slots[id];
            let mut next = s.text_end();
            for (f, &ok) in allowed.iter().enumerate() {
                let (fa, fl) = s.field(f);
                if at >= fa && at < fa + fl + 1 {
                    if ok {
                        h.sub.set(id);
                        if f == TITLE {
                            h.title.set(id);
                        }
                    }
                    next = fa + fl + 1;
                    break;
                }
            }
            pos = next;
            if pos >= self.text.len() {
                break;
            }
        }
        // Folder paths (for the whole-path scopes).
        if matches!(t.scope, Scope::Any | Scope::Path) {
            for f in 0..self.folders.len() as u32 {
                if finder.find(self.folder_folded(f)).is_some() {
                    let (at, len) = self.folders[f as usize].tunes;
                    h.sub.set_range(at as usize, len as usize);
                }
            }
        }
        // Words (titles and authors only, never phrases).
        let wordy = matches!(t.scope, Scope::Any | Scope::Title | Scope::Author);
        if wordy && !t.is_phrase() {
            let field_ok = |p: u32| allowed[(p & 1) as usize];
            let mark = |bits: &mut Bits, title: &mut Bits, postings: &[u32]| {
                for &p in postings.iter().filter(|&&p| field_ok(p)) {
                    bits.set((p >> 1) as usize);
                    if p & 1 == 0 {
                        title.set((p >> 1) as usize);
                    }
                }
            };
            let v = &self.vocab;
            let (mut start, mut hi) = (0, v.words.len());
            while start < hi {
                let mid = (start + hi) / 2;
                if v.word(mid) < needle {
                    start = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for i in start..v.words.len() {
                if !v.word(i).starts_with(needle) {
                    break;
                }
                mark(&mut h.prefix, &mut h.title, v.postings(i));
            }
            // A typo is only tolerated in words long enough to stay meaningful.
            if needle.len() >= 4 {
                for i in 0..v.words.len() {
                    let w = v.word(i);
                    if w.len().abs_diff(needle.len()) <= 1
                        && !w.starts_with(needle)
                        && within_one_edit(w, needle)
                    {
                        mark(&mut h.typo, &mut h.title, v.postings(i));
                    }
                }
            }
        }
        h
    }

    /// Runs a query: the best `limit` tune ids, best first, and how many tunes matched.
    ///
    /// Ranking: the title or author is exactly the query, then starts with it, then every
    /// word of the query starts a title/author word, then every word occurs somewhere as
    /// written, then matches that needed a typo; ties go to title matches, then path order.
    pub fn search(&self, q: &Query, limit: usize) -> (Vec<u32>, usize) {
        let n = self.slots.len();
        if q.terms.is_empty() {
            let all: Vec<u32> = (0..n as u32)
                .filter(|&i| self.passes(&self.slots[i as usize], &q.filters))
                .collect();
            let total = all.len();
            return (all.into_iter().take(limit).collect(), total);
        }
        let hits: Vec<TermHits> = q.terms.iter().map(|t| self.term_hits(t)).collect();
        let mut cand = Bits(vec![u64::MAX; n.div_ceil(64)]);
        for h in &hits {
            let mut m = h.sub.clone();
            m.or(&h.prefix);
            m.or(&h.typo);
            cand.and(&m);
        }
        let free = q.free_text();
        let free = free.as_bytes();
        let mut ranked: Vec<(u8, u8, u32)> = cand
            .ones()
            .take_while(|&i| i < n)
            .filter(|&i| self.passes(&self.slots[i], &q.filters))
            .map(|i| {
                let s = &self.slots[i];
                let (title, author) = (self.field(s, TITLE), self.field(s, AUTHOR));
                let tier = if !free.is_empty() && (title == free || author == free) {
                    EXACT
                } else if !free.is_empty() && (title.starts_with(free) || author.starts_with(free))
                {
                    FIELD_PREFIX
                } else if hits.iter().all(|h| h.prefix.get(i)) {
                    WORD_PREFIX
                } else if hits.iter().all(|h| h.sub.get(i) || h.prefix.get(i)) {
                    SUBSTRING
                } else {
                    TYPO
                };
                let in_title = u8::from(!hits.iter().all(|h| h.title.get(i)));
                (tier, in_title, i as u32)
            })
            .collect();
        let total = ranked.len();
        if limit < ranked.len() {
            ranked.select_nth_unstable(limit);
            ranked.truncate(limit);
        }
        ranked.sort_unstable();
        (ranked.into_iter().map(|r| r.2).collect(), total)
    }

    /// The years a folder's tunes were released in (0 where unknown is skipped).
    pub fn years(&self, f: u32) -> Option<(u16, u16)> {
        self.subtree(f)
            .into_iter()
            .map(|i| self.slots[i as usize].year)
            .filter(|&y| y != 0)
            .fold(None, |acc, y| match acc {
                None => Some((y, y)),
                Some((a, b)) => Some((a.min(y), b.max(y))),
            })
    }
}
