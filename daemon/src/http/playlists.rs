//! Saved playlists: named lists of songs kept on the box, shared by every listener on the LAN
//! (like the ratings). Items are stored by the tune file's MD5 and the song, so a playlist
//! survives the library being moved or rescanned; an item whose tune is gone is listed with
//! `tune: null` rather than dropped.

use super::{error, json, json_status, too_many, Req};
use crate::app::App;
use serde::{Deserialize, Serialize};
use store::{now_unix, PLAYLISTS};
use warp::http::StatusCode;
use warp::reply::Response;

/// Longest playlist accepted.
pub const MAX_ITEMS: usize = 1000;
const MAX_NAME: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub md5: String,
    pub song: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Playlist {
    pub name: String,
    pub items: Vec<Item>,
    pub created: u64,
    pub updated: u64,
}

/// A playlist's id: 1-64 characters of `a-z`, `0-9` and `-`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[derive(Deserialize)]
struct ItemBody {
    md5: Option<String>,
    path: Option<String>,
    song: Option<u16>,
}

#[derive(Deserialize)]
struct PutBody {
    name: String,
    items: Vec<ItemBody>,
}

pub fn list(app: &App) -> Response {
    let all = match app.db.list_readable::<Playlist>(PLAYLISTS, "") {
        Ok(r) => r.records,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("playlists: {e}"),
            )
        }
    };
    let mut out: Vec<serde_json::Value> = all
        .iter()
        .map(|(id, p)| {
            serde_json::json!({"id": id, "name": p.name, "count": p.items.len(), "updated": p.updated})
        })
        .collect();
    out.sort_by(|a, b| {
        a["name"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .cmp(&b["name"].as_str().unwrap_or_default().to_lowercase())
    });
    json(&serde_json::json!({ "playlists": out }))
}

pub fn get(app: &App, req: &Req) -> Response {
    let id = &req.params[0];
    if !valid_id(id) {
        return error(
            StatusCode::BAD_REQUEST,
            "a playlist id is 1-64 of a-z, 0-9 and -",
        );
    }
    match app.db.get::<Playlist>(PLAYLISTS, id) {
        Ok(Some(p)) => {
            let items: Vec<serde_json::Value> = p
                .items
                .iter()
                .map(|it| serde_json::json!({"md5": it.md5, "song": it.song, "tune": app.tune_by_md5(&it.md5)}))
                .collect();
            json(&serde_json::json!({
                "id": id, "name": p.name, "items": items, "created": p.created, "updated": p.updated,
            }))
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "no such playlist"),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("playlist {id}: {e}"),
        ),
    }
}

/// Creates or replaces a playlist. Every item must name a tune in the library (by MD5 or
/// path) and one of its songs (default: the tune's start song).
pub fn put(app: &App, req: &Req) -> Response {
    if let Err(wait) = app.feedback_limit.check(req.ip) {
        return too_many(wait, "playlist changes");
    }
    let id = req.params[0].clone();
    if !valid_id(&id) {
        return error(
            StatusCode::BAD_REQUEST,
            "a playlist id is 1-64 of a-z, 0-9 and -",
        );
    }
    let b: PutBody = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return error(
            StatusCode::BAD_REQUEST,
            "a playlist name is 1-100 printable characters",
        );
    }
    if b.items.len() > MAX_ITEMS {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("a playlist holds at most {MAX_ITEMS} songs"),
        );
    }
    let mut items = Vec::with_capacity(b.items.len());
    for (i, it) in b.items.iter().enumerate() {
        let tune = match (&it.md5, &it.path) {
            (Some(m), _) => app.tune_by_md5(m),
            (None, Some(p)) => library::safe_relative(p).ok().and_then(|p| app.tune(&p)),
            (None, None) => None,
        };
        let Some(t) = tune else {
            let what = it.md5.as_deref().or(it.path.as_deref()).unwrap_or("(none)");
            return error(
                StatusCode::BAD_REQUEST,
                &format!("item {}: no such tune {what}", i + 1),
            );
        };
        let song = it.song.unwrap_or(t.start_song);
        if song == 0 || song > t.songs {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "item {}: {} has no song {song} (it has {})",
                    i + 1,
                    t.path,
                    t.songs
                ),
            );
        }
        items.push(Item { md5: t.md5, song });
    }
    let now = now_unix();
    // A stored playlist this version cannot read is replaced, as a new one.
    let old = app.db.get::<Playlist>(PLAYLISTS, &id).ok().flatten();
    let existed = old.is_some();
    let created = old.map_or(now, |o| o.created);
    let p = Playlist {
        name,
        items,
        created,
        updated: now,
    };
    if let Err(e) = app.db.put(PLAYLISTS, &id, &p) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("saving: {e}"));
    }
    let body =
        serde_json::json!({"id": id, "name": p.name, "count": p.items.len(), "updated": p.updated});
    json_status(
        if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        &body,
    )
}

pub fn delete(app: &App, req: &Req) -> Response {
    if let Err(wait) = app.feedback_limit.check(req.ip) {
        return too_many(wait, "playlist changes");
    }
    let id = &req.params[0];
    if !valid_id(id) {
        return error(
            StatusCode::BAD_REQUEST,
            "a playlist id is 1-64 of a-z, 0-9 and -",
        );
    }
    match app.db.delete(PLAYLISTS, id) {
        Ok(true) => json(&serde_json::json!({ "deleted": id })),
        Ok(false) => error(StatusCode::NOT_FOUND, "no such playlist"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("deleting: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["a", "evening-2", &"x".repeat(64)] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "A", "a b", "a/b", "..", "é", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
