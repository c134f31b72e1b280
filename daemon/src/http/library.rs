//! The library: browse folders, search, one tune with its ratings, STIL notes and cached
//! variants.

use super::request::Req;
use super::response::{json, ApiError, Reply};
use crate::app::App;
use crate::media::CachedVariant;
use crate::ratings::Aggregate;
use serde::Serialize;
use std::sync::Arc;

/// A page of a folder: its sub-folders (with counts and their place in HVSC's layout), a
/// page of its own tunes (`offset`, `limit`), and a composer's page for a composer folder.
pub async fn browse(app: Arc<App>, req: Req) -> Reply {
    let path = library::safe_relative(&req.query("path").unwrap_or_default())
        .map_err(|_| ApiError::bad_request("bad folder path"))?;
    let offset = req.query_num("offset", 0usize);
    let limit = req.query_num("limit", 500usize).clamp(1, 1000);
    let scanning = app.library.scanning();
    #[derive(Serialize)]
    struct Browse {
        #[serde(flatten)]
        listing: library::FolderListing,
        offset: usize,
        scanning: bool,
    }
    let a = app.clone();
    let listing =
        tokio::task::spawn_blocking(move || a.library.index().browse_page(&path, offset, limit))
            .await
            .map_err(|e| ApiError::internal(anyhow::anyhow!("browse: {e}")))?
            .ok_or_else(|| ApiError::not_found("no such folder"))?;
    json(&Browse {
        listing,
        offset,
        scanning,
    })
}

/// Ranked search (see doc/library.md for the query language): `q`, `offset`, `limit`;
/// `total` says how many matched (results end at 1000).
pub async fn search(app: Arc<App>, req: Req) -> Reply {
    let q = req.query("q").unwrap_or_default();
    let offset = req.query_num("offset", 0usize).min(library::MAX_RESULTS);
    let limit = req.query_num("limit", 100usize).clamp(1, 500);
    #[derive(Serialize)]
    struct Hits {
        query: String,
        total: usize,
        offset: usize,
        tunes: Vec<library::Tune>,
    }
    let a = app.clone();
    let q2 = q.clone();
    let hits =
        tokio::task::spawn_blocking(move || a.library.index().search_page(&q2, offset, limit))
            .await
            .map_err(|e| ApiError::internal(anyhow::anyhow!("search: {e}")))?
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    json(&Hits {
        query: q,
        total: hits.total,
        offset,
        tunes: hits.tunes,
    })
}

/// A composer's page for a folder: name, tune and song counts, years active, STIL notes.
pub async fn composer(app: Arc<App>, req: Req) -> Reply {
    let path = library::safe_relative(&req.query("path").unwrap_or_default())
        .map_err(|_| ApiError::bad_request("bad folder path"))?;
    let c = app
        .library
        .index()
        .composer(&path)
        .ok_or_else(|| ApiError::not_found("no such folder"))?;
    json(&c)
}

/// The library's scan state (progress, the last scan, stale cache entries).
pub async fn admin_status(app: Arc<App>, _: Req) -> Reply {
    json(&app.library.scan_status())
}

/// Render-cache entries whose tune was deleted or changed.
pub async fn admin_stale(app: Arc<App>, _: Req) -> Reply {
    #[derive(Serialize)]
    struct Stale {
        file: String,
        #[serde(flatten)]
        entry: crate::library::StaleEntry,
    }
    let list: Vec<Stale> = app
        .library
        .stale()
        .into_iter()
        .map(|(file, entry)| Stale { file, entry })
        .collect();
    json(&serde_json::json!({ "entries": list }))
}

/// Starts a rescan of the whole library (incremental; progress on the operator's event
/// stream as `library_scan`, the outcome as `library_scanned`).
pub async fn admin_rescan(app: Arc<App>, req: Req) -> Reply {
    let r = if app.library.request_rescan("admin") {
        json(&serde_json::json!({ "started": true }))
    } else {
        Err(ApiError::internal(anyhow::anyhow!(
            "the library scan thread is not running"
        )))
    };
    super::admin::audited(&app, &req, "library rescan", serde_json::json!({}), r)
}

/// The tune a request names by `?md5=` or `?path=`.
pub fn tune_for(app: &App, req: &Req) -> Result<library::Tune, ApiError> {
    let path = match req.query("md5") {
        Some(_) => None,
        None => Some(
            library::safe_relative(&req.query("path").unwrap_or_default())
                .map_err(|_| ApiError::bad_request("bad path"))?,
        ),
    };
    app.library
        .find(req.query("md5").as_deref(), path.as_deref())
        .ok_or_else(|| ApiError::not_found("no such tune"))
}

#[derive(Serialize)]
struct StilField {
    key: String,
    value: String,
}

/// What the collection's STIL says about a tune.
#[derive(Serialize)]
struct Stil {
    global: Vec<StilField>,
    songs: std::collections::BTreeMap<String, Vec<StilField>>,
    folder_comment: Option<String>,
}

fn stil_of(lib: &library::Library, t: &library::Tune) -> Option<Stil> {
    let fields = |f: Vec<sidfile::StilField>| -> Vec<StilField> {
        f.into_iter()
            .map(|x| StilField {
                key: x.key,
                value: x.value,
            })
            .collect()
    };
    let entry = lib.stil(&t.path);
    let folder = lib.stil_folder_comment(t.folder());
    if entry.is_none() && folder.is_none() {
        return None;
    }
    let (global, songs) = match entry {
        Some(e) => (
            fields(e.global),
            e.songs
                .into_iter()
                .map(|(n, f)| (n.to_string(), fields(f)))
                .collect(),
        ),
        None => (Vec::new(), Default::default()),
    };
    Some(Stil {
        global,
        songs,
        folder_comment: folder,
    })
}

pub async fn tune(app: Arc<App>, req: Req) -> Reply {
    let t = tune_for(&app, &req)?;
    let ratings: Vec<Aggregate> = (1..=t.songs).map(|s| app.ratings.get(&t.md5, s)).collect();
    #[derive(Serialize)]
    struct TuneInfo<'a> {
        tune: &'a library::Tune,
        variants: Vec<CachedVariant>,
        ratings: Vec<Aggregate>,
        stil: Option<Stil>,
        /// Why it may sound wrong here: it needs the C64's ROMs and they are not installed.
        roms_warning: Option<String>,
    }
    let (p, t2) = (app.playback.clone(), t.clone());
    let roms_warning = super::response::blocking(move || p.rom_warning(&t2)).await?;
    json(&TuneInfo {
        roms_warning,
        variants: app.media.variants(&t),
        ratings,
        stil: stil_of(app.library.index(), &t),
        tune: &t,
    })
}

#[derive(Serialize)]
struct Renderable {
    platform: &'static str,
    formats: [&'static str; 3],
}

pub async fn variants(app: Arc<App>, req: Req) -> Reply {
    let t = tune_for(&app, &req)?;
    // What a new render could be made on now: our engine always; sidplayfp while it is
    // installed; a C64 Ultimate (through an admin render job) while one that can record
    // audio is online.
    let mut renderable = vec![Renderable {
        platform: "software",
        formats: ["mp3", "flac", "wav"],
    }];
    if app
        .media
        .check_engine(crate::media::Platform::Sidplayfp)
        .is_ok()
    {
        renderable.push(Renderable {
            platform: "sidplayfp",
            formats: ["mp3", "flac", "wav"],
        });
    }
    if app.devices.recorder().is_some() {
        renderable.push(Renderable {
            platform: "hardware",
            formats: ["mp3", "flac", "wav"],
        });
    }
    #[derive(Serialize)]
    struct Variants<'a> {
        md5: &'a str,
        path: &'a str,
        variants: Vec<CachedVariant>,
        renderable: Vec<Renderable>,
    }
    json(&Variants {
        md5: &t.md5,
        path: &t.path,
        variants: app.media.variants(&t),
        renderable,
    })
}
