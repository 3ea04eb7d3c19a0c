//! Verifying a request's SigV4 signature (Authorization header or presigned query), with AWS's
//! checks and wording: the credential's shape, the 5-minute clock skew window, the access key,
//! the session token, then the signature itself (compared in constant time).

use crate::canonical::{
    canonical_header_value, canonical_query, canonical_request, canonical_uri, hex, hex_sha256,
    string_to_sign,
};
use crate::credentials::{Credential, Credentials};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's time may be from the server's, in milliseconds (AWS: 5 minutes).
pub const CLOCK_SKEW_MAX_MS: i64 = 5 * 60 * 1000;

/// A request as the front door received it.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Headers, names in lower case; `host` must be there (HTTP/2: from `:authority`, which is
    /// also listed under its own name for clients that sign it so).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        self.query?.split('&').find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k == name).then(|| {
                String::from_utf8_lossy(&crate::canonical::percent_decode(v, true)).into_owned()
            })
        })
    }
}

/// Why a request is not authenticated; each maps to an AWS exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// UnrecognizedClientException: the access key (or its session token) is unknown.
    UnrecognizedClient,
    /// InvalidSignatureException, with its message (mismatch, expiry, scope).
    InvalidSignature(String),
    /// IncompleteSignatureException, with its message.
    Incomplete(String),
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::UnrecognizedClient => "UnrecognizedClientException",
            AuthError::InvalidSignature(_) => "InvalidSignatureException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            AuthError::UnrecognizedClient => {
                "The security token included in the request is invalid."
            }
            AuthError::InvalidSignature(m) | AuthError::Incomplete(m) => m,
        }
    }
}

/// AWS's answer to a signature that does not match.
pub const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The parts of a signature, from the header or the query.
struct Parts {
    access_key: String,
    scope: String,
    date: String,
    signed_headers: String,
    signature: String,
    presigned: bool,
    expires_secs: Option<i64>,
}

fn parts(r: &SignedRequest<'_>) -> Result<Parts, AuthError> {
    let incomplete = |m: &str| AuthError::Incomplete(m.to_string());
    let (credential, signed_headers, signature, date, presigned, expires) =
        match r.header("authorization") {
            Some(header) => {
                let rest = header
                    .strip_prefix("AWS4-HMAC-SHA256")
                    .ok_or_else(|| incomplete("Unsupported Authorization Type"))?;
                let field = |name: &str| {
                    rest.split([',', ' '])
                        .filter_map(|p| p.trim().split_once('='))
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.to_string())
                };
                let date = r
                    .header("x-amz-date")
                    .map(str::to_string)
                    .or_else(|| r.header("date").and_then(http_date));
                (
                    field("Credential"),
                    field("SignedHeaders"),
                    field("Signature"),
                    date,
                    false,
                    None,
                )
            }
            None => (
                r.query_param("X-Amz-Credential"),
                r.query_param("X-Amz-SignedHeaders"),
                r.query_param("X-Amz-Signature"),
                r.query_param("X-Amz-Date"),
                true,
                r.query_param("X-Amz-Expires").and_then(|e| e.parse().ok()),
            ),
        };
    let credential = credential
        .ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter."))?;
    let (access_key, scope) = credential.split_once('/').ok_or_else(|| {
        incomplete(&format!(
            "Credential should have at least 5 slash-separated parts, not 1: {credential}"
        ))
    })?;
    let scope_parts: Vec<&str> = scope.split('/').collect();
    if scope_parts.len() != 4 || scope_parts[3] != "aws4_request" {
        return Err(incomplete(&format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            scope_parts.last().unwrap_or(&"")
        )));
    }
    Ok(Parts {
        access_key: access_key.to_string(),
        scope: scope.to_string(),
        date: date.ok_or_else(|| incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."))?,
        signed_headers: signed_headers.ok_or_else(|| incomplete("Authorization header requires 'SignedHeaders' parameter."))?,
        signature: signature.ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?,
        presigned,
        expires_secs: expires,
    })
}

/// An RFC 7231 `Date` header as `yyyyMMdd'T'HHmmss'Z'`.
fn http_date(value: &str) -> Option<String> {
    let t = jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", value).ok()?;
    let t = t.to_datetime().ok()?;
    Some(t.strftime("%Y%m%dT%H%M%SZ").to_string())
}

fn epoch_ms(amz_date: &str) -> Option<i64> {
    let t = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", amz_date).ok()?;
    let t = t
        .to_datetime()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?;
    Some(t.timestamp().as_millisecond())
}

fn amz(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// The time checks: within 5 minutes of now (presigned: before its expiry).
fn check_time(p: &Parts, now_ms: i64) -> Result<(), AuthError> {
    let at = epoch_ms(&p.date).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'.",
            p.date
        ))
    })?;
    if p.presigned {
        let expires = p.expires_secs.unwrap_or(900).clamp(1, 604_800) * 1000;
        if now_ms > at + expires {
            return Err(AuthError::InvalidSignature(format!(
                "Signature expired: {} is now earlier than {} ({} - {} sec.)",
                p.date,
                amz(now_ms - expires),
                amz(now_ms),
                expires / 1000
            )));
        }
        return Ok(());
    }
    if at < now_ms - CLOCK_SKEW_MAX_MS {
        return Err(AuthError::InvalidSignature(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            p.date,
            amz(now_ms - CLOCK_SKEW_MAX_MS),
            amz(now_ms)
        )));
    }
    if at > now_ms + CLOCK_SKEW_MAX_MS {
        return Err(AuthError::InvalidSignature(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            p.date,
            amz(now_ms + CLOCK_SKEW_MAX_MS),
            amz(now_ms)
        )));
    }
    Ok(())
}

/// The signature `r` should carry under `secret`.
fn expected_signature(r: &SignedRequest<'_>, p: &Parts, secret: &str) -> String {
    let names: Vec<&str> = p.signed_headers.split(';').collect();
    let headers: Vec<(String, String)> = names
        .iter()
        .map(|name| {
            let values: Vec<String> = r
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| canonical_header_value(v))
                .collect();
            (name.to_string(), values.join(","))
        })
        .collect();
    let payload = match r.header("x-amz-content-sha256") {
        Some(hash) if !p.presigned => hash.to_string(),
        _ => hex_sha256(r.body),
    };
    let skip = p.presigned.then_some("X-Amz-Signature");
    let request = canonical_request(
        r.method,
        &canonical_uri(r.path),
        &canonical_query(r.query, skip),
        &headers,
        &p.signed_headers,
        &payload,
    );
    let to_sign = string_to_sign(&p.date, &p.scope, &request);
    let key = signing_key(secret, &p.scope);
    hex(&hmac(&key, to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: the error case cannot happen.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// `kSigning` for a scope `date/region/service/aws4_request`.
fn signing_key(secret: &str, scope: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in scope.split('/') {
        key = hmac(&key, part.as_bytes());
    }
    key
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies `r`; the credential it was signed with.
pub fn verify<'c>(
    r: &SignedRequest<'_>,
    credentials: &'c Credentials,
    now_ms: i64,
) -> Result<&'c Credential, AuthError> {
    let p = parts(r)?;
    if !p.scope.starts_with(p.date.get(..8).unwrap_or(&p.date)) {
        return Err(AuthError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            &p.scope[..p.scope.find('/').unwrap_or(0)],
            p.date.get(..8).unwrap_or(&p.date),
            p.date
        )));
    }
    check_time(&p, now_ms)?;
    let credential = credentials
        .get(&p.access_key)
        .ok_or(AuthError::UnrecognizedClient)?;
    let token = r
        .header("x-amz-security-token")
        .map(str::to_string)
        .or_else(|| r.query_param("X-Amz-Security-Token"));
    if token.as_deref() != credential.session_token.as_deref() {
        return Err(AuthError::UnrecognizedClient);
    }
    if !p
        .signed_headers
        .split(';')
        .any(|h| h == "host" || h == ":authority")
    {
        return Err(AuthError::InvalidSignature(MISMATCH.into()));
    }
    let expected = expected_signature(r, &p, &credential.secret_access_key);
    if !constant_time_eq(expected.as_bytes(), p.signature.as_bytes()) {
        return Err(AuthError::InvalidSignature(MISMATCH.into()));
    }
    Ok(credential)
}

#[cfg(test)]
mod tests;
