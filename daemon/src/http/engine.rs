//! The software engines: which ones can render (`GET /api/engine`, public: the listeners'
//! preferences show what the box has), and the operator's choice of the box's engine and
//! the line-out's levelling (`/api/admin/engine`, audited).

use super::admin::audited;
use super::request::Req;
use super::response::{blocking, json, ApiError, Reply};
use crate::app::App;
use crate::engines::EngineSettings;
use std::sync::Arc;

/// `GET /api/engine` (and `GET /api/admin/engine`): the engines, the box's choice, what
/// renders when the choice is missing, and whether the line-out levels tunes out.
pub async fn status(app: Arc<App>, _: Req) -> Reply {
    // Finding sidplayfp looks at the file system.
    let engines = app.engines.clone();
    json(&blocking(move || engines.status()).await?)
}

/// `PUT /api/admin/engine` `{"engine": "sidflow"|"sidplayfp", "lineout_level": bool}`.
pub async fn put(app: Arc<App>, req: Req) -> Reply {
    let b: EngineSettings = req.json()?;
    let detail = serde_json::to_value(&b).unwrap_or_default();
    let engines = app.engines.clone();
    let r = match blocking(move || engines.set(b).map(|()| engines.status())).await {
        Ok(Ok(s)) => json(&s),
        Ok(Err(e)) => Err(ApiError::bad_request(format!("{e:#}"))),
        Err(e) => Err(e),
    };
    audited(&app, &req, "change engine settings", detail, r)
}
