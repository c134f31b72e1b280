//! `GET /api/openapi.json`: an OpenAPI 3.1 description of the HTTP API, for client
//! generators, Home Assistant's REST integrations or a person with Swagger UI.
//!
//! Built once, from the two places that already say what the API is: the route table
//! ([`super::routes::ROUTES`]: paths, methods, path parameters, access rule, whether a JSON
//! body is read) and the route table of `doc/http-api.md` (what each route does, compiled
//! in), so it cannot drift from either: a route the document does not describe is a test
//! failure. Hand-assembled JSON rather than `utoipa` (which would need an annotation on
//! every handler in every file) because the table already holds what the macros would.
//! Response bodies are described in prose (the `description`), not as schemas yet, except
//! the one error shape every route shares.

use super::response::{full, with_type, Reply};
use super::routes::{Access, BodyLimit, ROUTES};
use crate::app::App;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

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

fn operation(
    method: &str,
    path: &str,
    access: Access,
    body: BodyLimit,
    docs: &HashMap<(String, String), String>,
) -> Value {
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
    let tag = match access {
        Access::Public => "public",
        Access::Bootstrap => "operator: no session",
        Access::Admin => "operator",
    };
    op.insert("tags".into(), json!([tag]));
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if body != BodyLimit::None {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "description": format!("JSON, at most {} KiB", body.bytes() >> 10),
                "content": {"application/json": {"schema": {"type": "object"}}},
            }),
        );
    }
    op.insert(
        "security".into(),
        match (access, method) {
            (Access::Admin, "GET") => json!([{"session": []}]),
            (Access::Admin, _) => json!([{"session": [], "csrf": []}]),
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

/// The whole description.
pub fn document() -> Value {
    let docs = documented();
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        if let Value::Object(m) = entry {
            m.insert(
                r.method.to_ascii_lowercase(),
                operation(r.method, r.path, r.access, r.body, &docs),
            );
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

static TEXT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string_pretty(&document()).unwrap_or_default());

/// `GET /api/openapi.json` (a plain fn, like `/api/routes`: it reads the route table).
pub fn serve(_: Arc<App>, _: super::request::Req) -> Reply {
    Ok(with_type(full(TEXT.as_bytes()), "application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn paths_and_methods_equal_the_route_table_and_every_operation_is_described() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut described = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                described.insert((method.to_ascii_uppercase(), path.clone()));
                let what = op["description"].as_str().unwrap();
                assert!(!what.is_empty(), "{method} {path}: not in doc/http-api.md");
                assert!(!op["summary"].as_str().unwrap().is_empty());
                // Every {param} of the path is declared once.
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
                    .unwrap_or_default();
                let in_path: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                assert_eq!(declared, in_path, "{path}");
            }
        }
        let table: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(described, table);
        // Operation ids are unique (client generators name functions after them).
        let ids: Vec<String> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|ops| ops.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap().to_string())
            .collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        // Operator routes carry the session (and, when they mutate, the CSRF header).
        let login = &doc["paths"]["/api/admin/jobs"]["post"]["security"];
        assert_eq!(login, &json!([{"session": [], "csrf": []}]));
        assert_eq!(doc["paths"]["/api/play"]["post"]["security"], json!([]));
    }
}
