//! Saved playlists (see [`crate::playlists`]): anyone on the LAN lists, reads, saves and
//! deletes them; changes take from the client's feedback budget.

use super::request::Req;
use super::response::{created, json, ApiError, Reply};
use crate::app::App;
use crate::playlists::{NewItem, PlaylistError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

impl From<PlaylistError> for ApiError {
    fn from(e: PlaylistError) -> ApiError {
        match e {
            PlaylistError::BadId | PlaylistError::Invalid(_) => {
                ApiError::bad_request(e.to_string())
            }
            PlaylistError::NotFound => ApiError::not_found(e.to_string()),
            PlaylistError::Full => ApiError::conflict(e.to_string()),
            PlaylistError::Store(e) => ApiError::internal(e),
        }
    }
}

fn limit_changes(app: &App, req: &Req) -> Result<(), ApiError> {
    app.limits
        .feedback
        .check(req.ip)
        .map_err(|wait| ApiError::too_many(wait, "playlist changes"))
}

pub async fn list(app: Arc<App>, _: Req) -> Reply {
    #[derive(Serialize)]
    struct List {
        playlists: Vec<crate::playlists::Summary>,
    }
    json(&List {
        playlists: app.playlists.list()?,
    })
}

pub async fn get(app: Arc<App>, req: Req) -> Reply {
    json(&app.playlists.get(req.param(0))?)
}

#[derive(Deserialize)]
struct PutBody {
    name: String,
    items: Vec<NewItem>,
}

/// Creates (201) or replaces (200) a playlist.
pub async fn put(app: Arc<App>, req: Req) -> Reply {
    limit_changes(&app, &req)?;
    let b: PutBody = req.json()?;
    let (summary, new) = app.playlists.put(req.param(0), &b.name, &b.items)?;
    if new {
        created(&summary)
    } else {
        json(&summary)
    }
}

pub async fn delete(app: Arc<App>, req: Req) -> Reply {
    limit_changes(&app, &req)?;
    app.playlists.delete(req.param(0))?;
    #[derive(Serialize)]
    struct Deleted<'a> {
        deleted: &'a str,
    }
    json(&Deleted {
        deleted: req.param(0),
    })
}
