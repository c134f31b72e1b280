//! `POST /api/telemetry`: listeners' browsers report playback problems (underruns, stalls,
//! decode errors, engine fallbacks) in batches; the box counts them per kind
//! (`sidflow_telemetry_reports_total`, the Status tab). Nothing else is kept: no addresses,
//! no tunes. Bounded: at most [`MAX_EVENTS`] events per batch,
//! [`crate::metrics::TELEMETRY_BATCHES_PER_MINUTE`]
//! batches per client per minute, kinds from a closed list (others count as `other`).

use super::request::Req;
use super::response::{json, ApiError, Reply};
use crate::app::App;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const MAX_EVENTS: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    kind: String,
    /// Free text from the browser; at most 200 characters are looked at (and only logged
    /// at debug level).
    #[serde(default)]
    detail: String,
}

pub async fn report(app: Arc<App>, req: Req) -> Reply {
    app.limits
        .telemetry
        .check(req.ip)
        .map_err(|wait| ApiError::too_many(wait, "reports"))?;
    let b: Batch = req.json()?;
    if b.events.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_EVENTS} events per batch"
        )));
    }
    for e in &b.events {
        let kind = crate::metrics::telemetry(&e.kind);
        let detail: String = e.detail.chars().take(200).collect();
        tracing::debug!(kind, "{}: playback problem reported: {detail}", req.ip);
    }
    #[derive(Serialize)]
    struct Counted {
        counted: usize,
    }
    json(&Counted {
        counted: b.events.len(),
    })
}
