//! Authentication presence and shape, checked as AWS checks them before any signature is
//! verified: a request must carry either an `Authorization` header or presigned query
//! parameters, not both, and whichever it carries must name every part.

use spate_wire::{ApiError, ErrorKind};

/// What the front door demands of credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// SigV4 parts must be present and well-formed (signatures are not verified yet).
    Presence,
    /// Nothing is checked (`--auth none`).
    None,
}

/// Query parameters of a presigned request, in the order AWS reports them missing.
const QUERY_PARTS: [&str; 5] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
];

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// Checks that credentials are present and well formed; `has_date` tells whether an
/// `X-Amz-Date` or `Date` header came with the request.
pub fn check_presence(
    authorization: Option<&str>,
    query: Option<&str>,
    has_date: bool,
) -> Result<(), ApiError> {
    let query = query.unwrap_or_default();
    let presigned = query_value(query, "X-Amz-Algorithm").is_some();
    match (authorization, presigned) {
        (Some(_), true) => Err(ApiError::new(
            ErrorKind::InvalidSignature,
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
        )),
        (None, false) => Err(ApiError::new(
            ErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        )),
        (Some(header), false) => check_header(header, has_date),
        (None, true) => check_query(query),
    }
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`: parameters after the
/// scheme, separated by commas and/or spaces.
fn check_header(header: &str, has_date: bool) -> Result<(), ApiError> {
    let params: Vec<(&str, &str)> = header
        .split([',', ' '])
        .skip(1)
        .filter(|p| !p.is_empty())
        .map(|p| p.trim().split_once('=').unwrap_or((p, "")))
        .collect();
    let mut message = String::new();
    for part in ["Credential", "Signature", "SignedHeaders"] {
        if !params.iter().any(|(k, v)| *k == part && !v.is_empty()) {
            message.push_str(&format!(
                "Authorization header requires '{part}' parameter. "
            ));
        }
    }
    if !has_date {
        message.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if message.is_empty() {
        return Ok(());
    }
    message.push_str(&format!("Authorization={header}"));
    Err(ApiError::new(ErrorKind::IncompleteSignature, message))
}

fn check_query(query: &str) -> Result<(), ApiError> {
    let mut message = String::new();
    for part in QUERY_PARTS {
        if query_value(query, part).is_none_or(str::is_empty) {
            message.push_str(&format!(
                "AWS query-string parameters must include '{part}'. "
            ));
        }
    }
    if message.is_empty() {
        return Ok(());
    }
    message.push_str("Re-examine the query-string parameters.");
    Err(ApiError::new(ErrorKind::IncompleteSignature, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(auth: Option<&str>, query: Option<&str>, date: bool) -> String {
        check_presence(auth, query, date).unwrap_err().message
    }

    #[test]
    fn aws_texts() {
        assert_eq!(message(None, None, true), "Missing Authentication Token");
        assert_eq!(
            message(Some("X"), Some("X-Amz-Algorithm"), true),
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
        );
        assert_eq!(
            message(Some("X"), None, false),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X"
        );
        for header in [
            "AWS4- Signature=b Credential=a",
            "AWS4- Signature=b,Credential=a",
            "AWS4- Signature=b, Credential=a",
        ] {
            assert_eq!(
                message(Some(header), None, true),
                format!("Authorization header requires 'SignedHeaders' parameter. Authorization={header}")
            );
        }
        assert_eq!(
            message(None, Some("X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d"), true),
            "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."
        );
        // A query without X-Amz-Algorithm is no presigned request at all.
        assert_eq!(
            message(
                None,
                Some("X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d"),
                true
            ),
            "Missing Authentication Token"
        );
        assert!(check_presence(
            Some("AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c"),
            None,
            true
        )
        .is_ok());
    }
}
