//! C64 ROM bundles in `/admin`: what is installed (revision names, never the bytes), upload
//! one image (checked against the manifest of known SHA-256 fingerprints), remove one.
//! Every change is audited.

use super::admin::audited;
use super::request::Req;
use super::response::{blocking, json, ApiError, Reply};
use crate::app::App;
use crate::roms::{RomError, RomKind};
use base64::Engine as _;
use serde::Deserialize;
use std::sync::Arc;

/// `GET /api/admin/roms`.
pub async fn status(app: Arc<App>, _: Req) -> Reply {
    json(&app.roms.status())
}

fn kind(req: &Req) -> Result<RomKind, ApiError> {
    RomKind::parse(req.param(0))
        .ok_or_else(|| ApiError::not_found("unknown ROM (kernal, basic or chargen)"))
}

/// `PUT /api/admin/roms/{kind}` `{"data": BASE64, "name"?: the uploaded file's name}`.
pub async fn upload(app: Arc<App>, req: Req) -> Reply {
    #[derive(Deserialize)]
    struct Body {
        data: String,
        #[serde(default)]
        name: String,
    }
    let k = kind(&req)?;
    let b: Body = req.json()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b.data.trim())
        .map_err(|_| ApiError::bad_request("data must be the file's bytes in base64"));
    let mut detail = serde_json::json!({ "rom": k.as_str(), "file": b.name.chars().take(200).collect::<String>() });
    let r = match bytes {
        Err(e) => Err(e),
        Ok(bytes) => {
            detail["sha256"] = crate::roms::sha256_hex(&bytes).into();
            let a = app.clone();
            match blocking(move || a.roms.upload(k, &bytes)).await {
                Ok(Ok(_)) => json(&app.roms.status()),
                Ok(Err(RomError::Io(e))) => Err(ApiError::internal(e)),
                Ok(Err(e)) => Err(ApiError::bad_request(e.to_string())),
                Err(e) => Err(e),
            }
        }
    };
    audited(&app, &req, "upload ROM", detail, r)
}

/// `DELETE /api/admin/roms/{kind}`.
pub async fn remove(app: Arc<App>, req: Req) -> Reply {
    let k = kind(&req)?;
    let a = app.clone();
    let r = match blocking(move || a.roms.remove(k)).await {
        Ok(Ok(true)) => json(&app.roms.status()),
        Ok(Ok(false)) => Err(ApiError::not_found("that ROM is not installed")),
        Ok(Err(e)) => Err(ApiError::internal(e)),
        Err(e) => Err(e),
    };
    audited(
        &app,
        &req,
        "remove ROM",
        serde_json::json!({ "rom": k.as_str() }),
        r,
    )
}
