//! `GET /api/openapi.json`: an OpenAPI 3.1 description of the HTTP API, for client
//! generators, Home Assistant's REST integrations or a person with Swagger UI.
//!
//! Built once, from the two places that already say what the API is: the route table
//! (`routes::ROUTES`, handed in as [`Op`]s by `routes.rs`, which serves the document:
//! paths, methods, path parameters, access rule, whether a JSON body is read) and the route
//! table of `doc/http-api.md` (what each route does, compiled in), so it cannot drift from
//! either: a route the document does not describe is a test failure (`routes.rs`). Hand-assembled JSON rather than `utoipa` (which would need an annotation on
//! every handler in every file) because the table already holds what the macros would.
//! Response bodies are described in prose (the `description`), not as schemas yet, except
//! the one error shape every route shares.

use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// One route as the description needs it.
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    /// `public`, `bootstrap` or `admin`.
    pub access: &'static str,
    /// The JSON body the route reads, at most this many KiB (none: no body).
    pub json_body_kib: Option<u64>,
}

const API_DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../doc/http-api.md"));

/// What `doc/http-api.md` says of each (method, path).
pub fn documented() -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    for line in API_DOC.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | METHOD | `path` | access | what it does |
        if cells.len() >= 6 && ["GET", "POST", "PUT", "DELETE"].contains(&cells[1]) {
            let path = cells[2].trim_matches('`').to_string();
            // The description may itself contain `|` inside code spans: keep the rest.
            let what = cells[4..cells.len() - 1].join("|").trim().to_string();
            out.insert((cells[1].to_string(), path), what);
        }
    }
    out
}

fn summary(what: &str) -> String {
    let plain = what.replace('`', "");
    let cut = plain
        .find(". ")
        .or_else(|| plain.find(": "))
        .unwrap_or(plain.len())
        .min(100);
    let mut s: String = plain.chars().take(cut).collect();
    if s.is_empty() {
        s = plain;
    }
    s.trim_end_matches(['.', ':', ' ']).to_string()
}

fn operation(o: &Op, docs: &HashMap<(String, String), String>) -> Value {
    let (method, path) = (o.method, o.path);
    let what = docs
        .get(&(method.to_string(), path.to_string()))
        .cloned()
        .unwrap_or_default();
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let id = format!(
        "{}{}",
        method.to_ascii_lowercase(),
        path.split(['/', '{', '}', '.', '-'])
            .filter(|s| !s.is_empty())
            .map(|s| {
                let mut c = s.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<String>()
    );
    let mut op = Map::new();
    op.insert("operationId".into(), json!(id));
    op.insert("summary".into(), json!(summary(&what)));
    op.insert("description".into(), json!(what));
    let tag = match o.access {
        "admin" => "operator",
        "bootstrap" => "operator: no session",
        _ => "public",
    };
    op.insert("tags".into(), json!([tag]));
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(kib) = o.json_body_kib {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "description": format!("JSON, at most {kib} KiB"),
                "content": {"application/json": {"schema": {"type": "object"}}},
            }),
        );
    }
    op.insert(
        "security".into(),
        match (o.access, method) {
            ("admin", "GET") => json!([{"session": []}]),
            ("admin", _) => json!([{"session": [], "csrf": []}]),
            _ => json!([]),
        },
    );
    op.insert(
        "responses".into(),
        json!({
            "2XX": {"description": "Success: see the description"},
            "default": {"$ref": "#/components/responses/Error"},
        }),
    );
    Value::Object(op)
}

/// The whole description of these routes.
pub fn document(ops: &[Op]) -> Value {
    let docs = documented();
    let mut paths: Map<String, Value> = Map::new();
    for o in ops {
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        if let Value::Object(m) = entry {
            m.insert(o.method.to_ascii_lowercase(), operation(o, &docs));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "SIDFlow",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "C64 SID music for the home network: the sidflowd HTTP API",
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
            "description": "Every route of sidflowd. Operator routes need the session cookie \
                from POST /api/admin/login, and every method but GET also the X-CSRF-Token \
                header it returned. Mutating requests send Content-Type: application/json. \
                Errors are {error, request_id}. The metrics path is configurable \
                ([metrics] path).",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "request_id"],
                    "properties": {
                        "error": {"type": "string", "description": "What went wrong, for a person"},
                        "request_id": {"type": "string", "description": "Also in the X-Request-Id header and the log"},
                    },
                },
            },
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        },
        "paths": paths,
    })
}
