//! What every operation shares: Glue's errors and their texts, the catalog check, and paging.
//!
//! Message texts: "Table NAME not found." is what Glue answers (seen in Terraform's logs of real
//! GetTable/GetPartitionIndexes calls); "Database NAME not found." is moto's, in the same form;
//! "Database already exists." is what real CreateDatabase answered in boto3 reports (it names no
//! database), and moto answers the same, as it does "Table already exists.". Texts Spate could
//! not find (versions, quotas, tokens) are Spate's own, in Glue's style.

use crate::service::Glue;
use base64::Engine;
use serde_json::Value;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};

/// Glue's page size when MaxResults is absent, and its largest (`CatalogGetterPageSize`).
pub const PAGE_SIZE_MAX: i64 = 100;
/// A page ends after the entry that takes it past this many bytes (the next page starts after
/// it), so a page of large tables stays bounded; clients follow NextToken whatever a page holds.
pub const PAGE_BYTES_MAX: usize = 4 << 20;

/// Glue's own exceptions carry `Message`.
pub fn error(kind: ErrorKind, message: impl Into<String>) -> ApiError {
    ApiError::capitalized(kind, message)
}

pub fn database_not_found(name: &str) -> ApiError {
    error(
        ErrorKind::EntityNotFound,
        format!("Database {name} not found."),
    )
}

pub fn table_not_found(name: &str) -> ApiError {
    error(
        ErrorKind::EntityNotFound,
        format!("Table {name} not found."),
    )
}

pub fn invalid(message: impl Into<String>) -> ApiError {
    error(ErrorKind::InvalidInput, message)
}

/// Spate serves one catalog, its account's. Another CatalogId names a catalog Spate does not
/// have: EntityNotFoundException. (Glue answers AccessDeniedException for another account's
/// catalog that shares nothing with the caller; Spate has no cross-account catalogs to share,
/// so "not found" is the truthful answer.)
pub fn check_catalog(glue: &Glue, catalog_id: Option<&str>) -> Result<(), ApiError> {
    match catalog_id {
        Some(id) if !glue.serves_catalog(Some(id)) => Err(error(
            ErrorKind::EntityNotFound,
            format!("Catalog {id} not found."),
        )),
        _ => Ok(()),
    }
}

/// Checks a request's CatalogId and MaxResults; returns the page size.
pub fn check_paging(v: &mut Validator, max_results: Option<i64>) -> usize {
    v.range(max_results, "maxResults", 1, PAGE_SIZE_MAX);
    max_results
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(PAGE_SIZE_MAX as usize)
}

/// NextToken: the key of the last entry of the page, opaque to clients.
pub fn token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// The key a NextToken carries.
pub fn token_key(next_token: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(t) = next_token else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(Some)
        .ok_or_else(|| invalid("Invalid NextToken: it was not given by this operation."))
}

/// Up to `limit` entries (`(key, entry)`, in order, already past the token) and the NextToken
/// when more follow.
pub fn page(
    entries: impl Iterator<Item = (String, Value)>,
    limit: usize,
) -> (Vec<Value>, Option<String>) {
    let mut out = Vec::new();
    let mut bytes = 0;
    let mut last = None;
    let mut entries = entries.peekable();
    for (key, entry) in entries.by_ref() {
        bytes += serde_json::to_vec(&entry).map_or(0, |b| b.len());
        out.push(entry);
        last = Some(key);
        if out.len() >= limit || bytes > PAGE_BYTES_MAX {
            break;
        }
    }
    let more = entries.peek().is_some();
    (out, last.filter(|_| more).map(|k| token(&k)))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
