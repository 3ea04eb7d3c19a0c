//! The AWS protocol edge, as AWS's front end answers it before any service sees a request:
//! method, content type, target, body syntax and authentication presence, in that order.
//! (Texts and order follow kinesalite, whose front end was checked against AWS; see
//! `docs/compatibility.md`.) Pure functions over the request's parts, so each rule is unit
//! tested.

use crate::auth::{check_presence, AuthMode};
use crate::router::Router;
use spate_wire::codec::{check_syntax, encode, Encoding};
use spate_wire::service::{Operation, TargetService};
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

pub const JSON_11: &str = "application/x-amz-json-1.1";
pub const JSON_10: &str = "application/x-amz-json-1.0";
pub const CBOR_11: &str = "application/x-amz-cbor-1.1";
pub const LEGACY_JSON: &str = "application/json";

/// What the edge decided.
pub enum Decision {
    /// Answer at once.
    Answer(Answer),
    /// Call the operation.
    Dispatch {
        service: Arc<dyn TargetService>,
        operation: Operation,
        encoding: Encoding,
    },
}

/// A complete response the edge makes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `None` for AWS's XML answers, which carry no content type.
    pub content_type: Option<&'static str>,
    /// `x-amzn-ErrorType`, for JSON and CBOR errors.
    pub error_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Answer {
    /// An error in the request's encoding.
    pub fn error(encoding: Encoding, e: &ApiError) -> Answer {
        Answer {
            status: e.kind.http_status(),
            content_type: Some(encoding.content_type()),
            error_type: Some(e.kind.code()),
            body: encode(encoding, &e.body()),
        }
    }

    fn xml(status: u16, body: String) -> Answer {
        Answer {
            status,
            content_type: None,
            error_type: None,
            body: body.into_bytes(),
        }
    }

    /// `<Type>\n  <Message>…</Message>\n</Type>\n`, status 403.
    fn xml_error(kind: &str, message: &str) -> Answer {
        Answer::xml(
            403,
            format!("<{kind}>\n  <Message>{message}</Message>\n</{kind}>\n"),
        )
    }

    /// The pre-JSON-1.0 envelope AWS still answers `application/json` requests with.
    fn legacy(kind: &str, member: &str) -> Answer {
        let body = format!(
            "{{\"Output\":{{\"__type\":\"com.amazon.coral.service#{kind}\",\"{member}\":null}},\"Version\":\"1.0\"}}"
        );
        Answer {
            status: 200,
            content_type: Some(LEGACY_JSON),
            error_type: None,
            body: body.into_bytes(),
        }
    }
}

/// The parts of a request the edge looks at.
pub struct Request<'a> {
    pub method: &'a str,
    pub content_type: Option<&'a str>,
    pub target: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub has_date: bool,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// The 403 a request gets when AWS cannot even tell what it is for: without any credentials,
/// "Missing Authentication Token"; with some, "Unable to determine service/operation name".
pub fn unroutable(request: &Request<'_>, auth: AuthMode) -> Answer {
    let signed = request.authorization.is_some()
        || request.query.is_some_and(|q| q.contains("X-Amz-Algorithm"));
    if signed || auth == AuthMode::None {
        Answer::xml_error(
            "AccessDeniedException",
            "Unable to determine service/operation name to be authorized",
        )
    } else {
        Answer::xml_error(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    }
}

/// Decides a POST to `/`.
pub fn decide(router: &Router, request: &Request<'_>, auth: AuthMode) -> Decision {
    let content_type = request
        .content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| !c.is_empty());
    let Some(content_type) = content_type else {
        return Decision::Answer(unroutable(request, auth));
    };
    let target = request.target.and_then(|t| router.target(t));
    let encoding = match content_type.as_str() {
        JSON_11 => Encoding::Json,
        // JSON 1.0 only for a service that speaks it (DynamoDB); Kinesis answers it as it
        // answers any other content type.
        JSON_10
            if request
                .target
                .and_then(|t| router.json_version(t))
                .is_some_and(|v| v == Encoding::Json10) =>
        {
            Encoding::Json10
        }
        CBOR_11 => Encoding::Cbor,
        _ if request.body.is_empty() => Encoding::Cbor,
        LEGACY_JSON => return Decision::Answer(legacy(request.body)),
        _ => return Decision::Answer(unknown_content_type(request, target.is_some(), auth)),
    };
    if request.body.is_empty() {
        if content_type == LEGACY_JSON {
            return Decision::Answer(Answer::legacy("UnknownOperationException", "message"));
        }
        let kind = match target {
            Some(_) => ErrorKind::Serialization,
            None => ErrorKind::UnknownOperation,
        };
        return Decision::Answer(Answer::error(encoding, &ApiError::bare(kind)));
    }
    let Some((service, operation)) = target else {
        // An unparsable body is reported before an unknown operation, as AWS does.
        let e = check_syntax(encoding, request.body)
            .err()
            .unwrap_or_else(|| ApiError::bare(ErrorKind::UnknownOperation));
        return Decision::Answer(Answer::error(encoding, &e));
    };
    if encoding == Encoding::Cbor && !service.speaks_cbor() {
        let e = ApiError::bare(ErrorKind::UnknownOperation);
        return Decision::Answer(Answer::error(encoding, &e));
    }
    if auth == AuthMode::Presence {
        if let Err(e) = check_presence(request.authorization, request.query, request.has_date) {
            let e = check_syntax(encoding, request.body).err().unwrap_or(e);
            return Decision::Answer(Answer::error(encoding, &e));
        }
    }
    Decision::Dispatch {
        service,
        operation,
        encoding,
    }
}

/// `application/json`, the protocol before JSON 1.0: AWS still answers it, with its envelope.
fn legacy(body: &[u8]) -> Answer {
    let is_object = check_syntax(Encoding::Json, body).is_ok();
    if is_object {
        Answer::legacy("UnknownOperationException", "message")
    } else {
        Answer::legacy("SerializationException", "Message")
    }
}

/// A body in a content type no service speaks.
fn unknown_content_type(request: &Request<'_>, known_target: bool, auth: AuthMode) -> Answer {
    if known_target {
        Answer::xml(404, "<UnknownOperationException/>\n".to_string())
    } else {
        unroutable(request, auth)
    }
}

#[cfg(test)]
mod tests;
