//! Ratings: a listener likes, dislikes, skips or stars a song; anyone reads a song's
//! ratings.

use super::request::Req;
use super::response::{created, json, ApiError, Reply};
use crate::app::App;
use crate::ratings::{Action, Aggregate};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
struct RateBody {
    /// The tune's MD5, or its path.
    md5: Option<String>,
    path: Option<String>,
    song: u16,
    /// `like`, `dislike`, `skip` or `stars`.
    action: String,
    stars: Option<u8>,
    /// Takes the rating back (the listener's toggle).
    #[serde(default)]
    undo: bool,
    /// The listener's earlier rating of this song, replaced by this one.
    replaces: Option<Replaced>,
}

#[derive(Deserialize)]
struct Replaced {
    action: String,
    stars: Option<u8>,
}

#[derive(Serialize)]
struct SongRatings<'a> {
    md5: &'a str,
    song: u16,
    ratings: Aggregate,
}

pub async fn rate(app: Arc<App>, req: Req) -> Reply {
    app.limits
        .feedback
        .check(req.ip)
        .map_err(|wait| ApiError::too_many(wait, "ratings"))?;
    let b: RateBody = req.json()?;
    let t = app
        .library
        .find(b.md5.as_deref(), b.path.as_deref())
        .ok_or_else(|| ApiError::not_found("no such tune"))?;
    if b.song == 0 || b.song > t.songs {
        return Err(ApiError::bad_request("no such song"));
    }
    let action = Action::parse(&b.action, b.stars).map_err(ApiError::bad_request)?;
    let replaces = match &b.replaces {
        Some(r) => Some(
            Action::parse(&r.action, r.stars)
                .map_err(|m| ApiError::bad_request(format!("replaces: {m}")))?,
        ),
        None => None,
    };
    let ratings = app.ratings.change(&t, b.song, action, b.undo, replaces)?;
    created(&SongRatings {
        md5: &t.md5,
        song: b.song,
        ratings,
    })
}

pub async fn get(app: Arc<App>, req: Req) -> Reply {
    let (Some(md5), Some(song)) = (
        req.query("md5"),
        req.query("song").and_then(|s| s.parse::<u16>().ok()),
    ) else {
        return Err(ApiError::bad_request("md5 and song are required"));
    };
    json(&SongRatings {
        ratings: app.ratings.get(&md5, song),
        md5: &md5,
        song,
    })
}
