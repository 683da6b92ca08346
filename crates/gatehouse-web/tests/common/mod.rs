//! Assertions shared by the HTTP tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod rp;

use reqwest::Response;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Asserts the status and a JSON body, and returns the body.
pub async fn json(response: Response, status: u16) -> Value {
    let (got, headers, text) = read(response).await;
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}: {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a problem+json answer with this status (and a matching `status`
/// member), and returns the problem.
pub async fn problem(response: Response, status: u16) -> Value {
    let (got, headers, text) = read(response).await;
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{text}"
    );
    let problem: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(problem["status"], status, "{problem}");
    assert!(
        problem["type"].is_string() && problem["title"].is_string(),
        "{problem}"
    );
    problem
}

/// Asserts an empty answer with this status.
pub async fn empty(response: Response, status: u16) {
    let (got, _, text) = read(response).await;
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    assert!(text.is_empty(), "{text}");
}

/// Status, headers and body text; every answer must carry a request id and nosniff.
pub async fn read(response: Response) -> (u16, HeaderMap, String) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    assert!(headers.contains_key("x-request-id"), "no x-request-id");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_ne!(status, 500, "internal error");
    let text = response.text().await.unwrap();
    (status, headers, text)
}

/// The `field:code` pairs of a 422 problem.
pub fn field_codes(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    format!(
                        "{}:{}",
                        e["field"].as_str().unwrap(),
                        e["code"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `ETag` of a response.
pub fn etag(headers: &HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_owned()
}

/// A JSON id member as a string.
pub fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}
