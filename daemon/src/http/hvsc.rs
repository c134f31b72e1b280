//! HVSC sync from `/admin`: its state, start, stop, and a check of the mirror.

use super::admin::audited;
use super::request::Req;
use super::response::{blocking, json, ApiError, Reply};
use crate::app::App;
use crate::hvsc::HvscError;
use serde::Deserialize;
use std::sync::Arc;

/// The job, its progress, the installed release and the last check.
pub async fn status(app: Arc<App>, _: Req) -> Reply {
    let a = app.clone();
    json(&blocking(move || a.hvsc.status()).await?)
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Start {
    full: bool,
}

fn api_err(e: HvscError) -> ApiError {
    match e {
        HvscError::NoFolder => ApiError::bad_request(e.to_string()),
        HvscError::Running => ApiError::conflict(e.to_string()),
        HvscError::Internal(e) => ApiError::internal(e),
    }
}

/// Starts a sync (progress as `hvsc_sync` events, the job as `hvsc_job`).
pub async fn sync(app: Arc<App>, req: Req) -> Reply {
    let r = (if req.body.is_empty() {
        Ok(Start::default())
    } else {
        req.json::<Start>()
    })
    .and_then(|s| {
        app.hvsc.begin(s.full, "admin").map_err(api_err)?;
        json(&serde_json::json!({ "started": true, "full": s.full }))
    });
    audited(&app, &req, "hvsc sync", serde_json::json!({}), r)
}

/// Stops a running sync between files (the next one continues it).
pub async fn stop(app: Arc<App>, req: Req) -> Reply {
    let r = json(&serde_json::json!({ "stopping": app.hvsc.stop() }));
    audited(&app, &req, "hvsc stop", serde_json::json!({}), r)
}

/// What a sync would download now.
pub async fn check(app: Arc<App>, _: Req) -> Reply {
    let a = app.clone();
    let plan = blocking(move || a.hvsc.check()).await?.map_err(api_err)?;
    json(&plan)
}
