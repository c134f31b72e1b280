//! Responses: bodies, JSON replies, and the one error type every handler returns.
//!
//! [`ApiError`] maps to a status and `{"error": message, "request_id": id}` in one place
//! ([`ApiError::into_response`]). An internal failure (a database or file error) is logged
//! with the request id, and the client gets only "internal error" and that id.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use serde::Serialize;
use std::time::Duration;

pub type Body = BoxBody<Bytes, std::io::Error>;
pub type Response = hyper::Response<Body>;
/// What a handler returns.
pub type Reply = Result<Response, ApiError>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A response with this body and content type.
pub fn with_type(body: Body, content_type: &'static str) -> Response {
    let mut res = Response::new(body);
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// Sets a header whose value was computed (a value that is not a valid header is dropped).
pub fn set_header(res: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().insert(name, v);
    }
}

pub fn json_status<T: Serialize + ?Sized>(code: StatusCode, v: &T) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = with_type(full(body), "application/json");
    *res.status_mut() = code;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `200 OK` with `v` as JSON.
pub fn json<T: Serialize + ?Sized>(v: &T) -> Reply {
    Ok(json_status(StatusCode::OK, v))
}

/// `201 Created` with `v` as JSON.
pub fn created<T: Serialize + ?Sized>(v: &T) -> Reply {
    Ok(json_status(StatusCode::CREATED, v))
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// What the client is told.
    message: String,
    /// What went wrong inside (logged, never sent).
    internal: Option<anyhow::Error>,
    retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            internal: None,
            retry_after: None,
        }
    }

    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, m)
    }

    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, m)
    }

    pub fn conflict(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, m)
    }

    pub fn unavailable(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m)
    }

    /// A C64 Ultimate (or another peer the box talks to) failed: the operator sees why.
    pub fn device(e: anyhow::Error) -> ApiError {
        ApiError::new(StatusCode::BAD_GATEWAY, format!("{e:#}"))
    }

    /// Something failed inside the box: the client learns only the request id.
    pub fn internal(e: impl Into<anyhow::Error>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error".into(),
            internal: Some(e.into()),
            retry_after: None,
        }
    }

    /// `429` with `Retry-After`.
    pub fn too_many(wait: Duration, what: &str) -> ApiError {
        let secs = wait.as_secs() + 1;
        ApiError {
            retry_after: Some(Duration::from_secs(secs)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many {what}; try again in {secs} s"),
            )
        }
    }

    /// Adds `Retry-After` to any error (a busy or full queue's 503).
    pub fn retry_after(mut self, wait: Duration) -> ApiError {
        self.retry_after = Some(wait);
        self
    }

    /// The response, after logging what the client is not told.
    pub fn into_response(self, request_id: &str) -> Response {
        if let Some(e) = &self.internal {
            tracing::error!(request_id, "{e:#}");
        }
        #[derive(Serialize)]
        struct E<'a> {
            error: &'a str,
            request_id: &'a str,
        }
        let mut res = json_status(
            self.status,
            &E {
                error: &self.message,
                request_id,
            },
        );
        if let Some(w) = self.retry_after {
            set_header(
                &mut res,
                header::RETRY_AFTER,
                &w.as_secs().max(1).to_string(),
            );
        }
        res
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(e)
    }
}

/// Runs blocking work (file system, argon2, device I/O) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f).await?)
}
