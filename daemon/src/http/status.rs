//! The box's state: health, the route table, the event streams, the operator's status and
//! audit trail.

use super::body::sse;
use super::request::Req;
use super::response::{json, Reply};
use crate::app::App;
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
struct LibraryState {
    tunes: usize,
    scanning: bool,
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<usize>,
}

fn library_state(app: &App, with_errors: bool) -> LibraryState {
    LibraryState {
        tunes: app.library.len(),
        scanning: app.library.scanning(),
        source: app.library.source.describe(),
        unreadable: with_errors.then(|| app.library.unreadable()),
    }
}

#[derive(Serialize)]
struct Renders {
    in_flight: usize,
    started: u64,
}

#[derive(Serialize)]
struct Health {
    /// `ok`, or `degraded` while something the box needs fails (the database cannot store).
    status: &'static str,
    /// Why the database cannot store anything now (a full disk, typically).
    #[serde(skip_serializing_if = "Option::is_none")]
    database_error: Option<String>,
    version: &'static str,
    library: LibraryState,
    renders: Renders,
    uptime_secs: u64,
}

pub async fn health(app: Arc<App>, _: Req) -> Reply {
    let database_error = app.db.write_error();
    json(&Health {
        status: if database_error.is_some() {
            "degraded"
        } else {
            "ok"
        },
        database_error,
        version: env!("CARGO_PKG_VERSION"),
        library: library_state(&app, false),
        renders: Renders {
            in_flight: app.media.in_flight(),
            started: app.media.renders_started(),
        },
        uptime_secs: app.started.elapsed().as_secs(),
    })
}

pub async fn events(app: Arc<App>, _: Req) -> Reply {
    Ok(sse(app.events.subscribe_public()))
}

pub async fn admin_events(app: Arc<App>, _: Req) -> Reply {
    // The operator's page holds one stream: the public events come along.
    Ok(super::body::sse_many(vec![
        app.events.subscribe_admin(),
        app.events.subscribe_public(),
    ]))
}

#[derive(Serialize)]
struct AdminStatus {
    library: LibraryState,
    sessions: usize,
    renders_in_flight: usize,
    renders_started: u64,
    disk_used_percent: Option<f64>,
    uptime_secs: u64,
    version: &'static str,
}

pub async fn admin_status(app: Arc<App>, _: Req) -> Reply {
    json(&AdminStatus {
        library: library_state(&app, true),
        sessions: app.sessions.len(),
        renders_in_flight: app.media.in_flight(),
        renders_started: app.media.renders_started(),
        disk_used_percent: crate::media::disk_used_percent(app.media.cache_dir()),
        uptime_secs: app.started.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// `?n=N` (at most 1000, default 100): the newest lines of the audit trail, newest first.
pub async fn audit(app: Arc<App>, req: Req) -> Reply {
    let n = req.query_num("n", 100usize).min(1000);
    let path = crate::auth::audit_path(&app.cfg.paths.data_dir);
    let text = tokio::fs::read_to_string(&path).await.unwrap_or_default();
    let entries: Vec<serde_json::Value> = text
        .lines()
        .rev()
        .take(n)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    #[derive(Serialize)]
    struct Audit {
        entries: Vec<serde_json::Value>,
    }
    json(&Audit { entries })
}
