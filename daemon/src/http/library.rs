//! The library: browse folders, search, one tune with its ratings, STIL notes and cached
//! variants.

use super::request::Req;
use super::response::{json, ApiError, Reply};
use crate::app::App;
use crate::media::CachedVariant;
use crate::ratings::Aggregate;
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
struct Browse<'a> {
    path: &'a str,
    folders: &'a [library::FolderInfo],
    tunes: &'a [&'a library::Tune],
    scanning: bool,
}

pub async fn browse(app: Arc<App>, req: Req) -> Reply {
    let path = library::safe_relative(&req.query("path").unwrap_or_default())
        .map_err(|_| ApiError::bad_request("bad folder path"))?;
    let scanning = app.library.scanning();
    app.library.with_index(|idx| match idx.browse(&path) {
        Some(l) => json(&Browse {
            path: &l.path,
            folders: &l.folders,
            tunes: &l.tunes,
            scanning,
        }),
        None if path.is_empty() => json(&Browse {
            path: "",
            folders: &[],
            tunes: &[],
            scanning,
        }),
        None => Err(ApiError::not_found("no such folder")),
    })
}

pub async fn search(app: Arc<App>, req: Req) -> Reply {
    let q = req.query("q").unwrap_or_default();
    let limit = req.query_num("limit", 100usize).clamp(1, 500);
    #[derive(Serialize)]
    struct Hits<'a> {
        query: &'a str,
        tunes: Vec<&'a library::Tune>,
    }
    app.library.with_index(|idx| {
        json(&Hits {
            query: &q,
            tunes: idx.search(&q, limit),
        })
    })
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
struct StilField<'a> {
    key: &'a str,
    value: &'a str,
}

/// What the collection's STIL says about a tune.
#[derive(Serialize)]
struct Stil<'a> {
    global: Vec<StilField<'a>>,
    songs: std::collections::BTreeMap<String, Vec<StilField<'a>>>,
    folder_comment: Option<&'a str>,
}

fn stil_of<'a>(stil: &'a sidfile::Stil, t: &library::Tune) -> Option<Stil<'a>> {
    let fields = |f: &'a [sidfile::StilField]| -> Vec<StilField<'a>> {
        f.iter()
            .map(|x| StilField {
                key: &x.key,
                value: &x.value,
            })
            .collect()
    };
    let entry = stil.get(&t.path);
    let folder = stil.folder_comment(t.folder());
    if entry.is_none() && folder.is_none() {
        return None;
    }
    Some(Stil {
        global: entry.map(|e| fields(&e.global)).unwrap_or_default(),
        songs: entry
            .map(|e| {
                e.songs
                    .iter()
                    .map(|(n, f)| (n.to_string(), fields(f)))
                    .collect()
            })
            .unwrap_or_default(),
        folder_comment: folder,
    })
}

pub async fn tune(app: Arc<App>, req: Req) -> Reply {
    let t = tune_for(&app, &req)?;
    let ratings: Vec<Aggregate> = (1..=t.songs).map(|s| app.ratings.get(&t.md5, s)).collect();
    let stil = app.library.stil();
    #[derive(Serialize)]
    struct TuneInfo<'a> {
        tune: &'a library::Tune,
        variants: Vec<CachedVariant>,
        ratings: Vec<Aggregate>,
        stil: Option<Stil<'a>>,
        /// Why it may sound wrong here: it needs the C64's ROMs and they are not installed.
        roms_warning: Option<String>,
    }
    let (p, t2) = (app.playback.clone(), t.clone());
    let roms_warning = super::response::blocking(move || p.rom_warning(&t2)).await?;
    json(&TuneInfo {
        roms_warning,
        variants: app.media.variants(&t),
        ratings,
        stil: stil.as_deref().and_then(|s| stil_of(s, &t)),
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
