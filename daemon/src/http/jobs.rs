//! Render jobs in `/admin`: list, create, follow, pause/resume/cancel, delete. Every change
//! is audited.

use super::admin::audited;
use super::request::Req;
use super::response::{created, json, ApiError, Reply};
use crate::app::App;
use crate::jobs::{JobError, JobSpec};
use serde::Serialize;
use std::sync::Arc;

impl From<JobError> for ApiError {
    fn from(e: JobError) -> ApiError {
        match e {
            JobError::Invalid(_) => ApiError::bad_request(e.to_string()),
            JobError::NoSuchTune(_) => ApiError::not_found(e.to_string()),
            JobError::NoDevice | JobError::NoEngine(_) => ApiError::conflict(e.to_string()),
            JobError::Internal(e) => ApiError::internal(e),
        }
    }
}

pub async fn list(app: Arc<App>, _: Req) -> Reply {
    let all = app.jobs.list();
    #[derive(Serialize)]
    struct List<'a> {
        jobs: Vec<crate::jobs::Summary<'a>>,
    }
    json(&List {
        jobs: all.iter().map(|j| j.summary()).collect(),
    })
}

fn job_id(req: &Req) -> u64 {
    req.param(0).parse().unwrap_or(0)
}

pub async fn get(app: Arc<App>, req: Req) -> Reply {
    let j = app
        .jobs
        .get(job_id(&req))
        .ok_or_else(|| ApiError::not_found("no such job"))?;
    json(&j.summary())
}

pub async fn create(app: Arc<App>, req: Req) -> Reply {
    let r = req.json::<JobSpec>().and_then(|mut spec| {
        spec.platform
            .get_or_insert_with(|| app.engines.default_engine().platform());
        let j = app
            .jobs
            .create_from(spec, &app.library, &app.media, &app.devices)?;
        created(&j.summary())
    });
    let detail = serde_json::from_slice::<serde_json::Value>(&req.body).unwrap_or_default();
    audited(&app, &req, "start render job", detail, r)
}

pub async fn control(app: Arc<App>, req: Req) -> Reply {
    let (id, action) = (job_id(&req), req.param(1).to_string());
    let r = match app.jobs.control(id, &action) {
        Ok(Some(j)) => json(&j.summary()),
        Ok(None) => Err(ApiError::not_found("no such job")),
        Err(e) => Err(ApiError::conflict(format!("{e:#}"))),
    };
    audited(
        &app,
        &req,
        &format!("{action} job"),
        serde_json::json!({ "job": id }),
        r,
    )
}

pub async fn delete(app: Arc<App>, req: Req) -> Reply {
    let id = job_id(&req);
    let r = match app.jobs.delete(id) {
        Ok(true) => json(&serde_json::json!({ "deleted": true })),
        Ok(false) => Err(ApiError::not_found("no such job")),
        Err(e) => Err(ApiError::conflict(format!("{e:#}"))),
    };
    audited(
        &app,
        &req,
        "delete job",
        serde_json::json!({ "job": id }),
        r,
    )
}
