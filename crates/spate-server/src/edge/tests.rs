//! The protocol edge, case by case, with AWS's answers (kinesalite's connection tests, checked
//! against AWS, and the issue's list).

use super::*;
use spate_wire::service::{BoxFuture, Call, Reply};

struct Fake;

impl TargetService for Fake {
    fn target_prefix(&self) -> &'static str {
        "Kinesis_20131202"
    }
    fn speaks_cbor(&self) -> bool {
        true
    }
    fn operation(&self, name: &str) -> Option<Operation> {
        (name == "ListStreams").then(|| Operation::new("ListStreams"))
    }
    fn call(self: Arc<Self>, _: Call) -> BoxFuture<Reply> {
        Box::pin(async { Reply::Output(Vec::new()) })
    }
}

const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=c";

fn request<'a>(
    content_type: Option<&'a str>,
    target: Option<&'a str>,
    authorization: Option<&'a str>,
    body: &'a [u8],
) -> Request<'a> {
    Request {
        method: "POST",
        content_type,
        target,
        authorization,
        has_date: true,
        query: None,
        body,
    }
}

fn answer(r: &Request<'_>) -> Answer {
    let router = Router::new().with_target(Arc::new(Fake));
    match decide(&router, r, AuthMode::Presence) {
        Decision::Answer(a) => a,
        Decision::Dispatch { .. } => panic!("dispatched"),
    }
}

fn text(a: &Answer) -> &str {
    std::str::from_utf8(&a.body).unwrap()
}

const LIST: Option<&str> = Some("Kinesis_20131202.ListStreams");

#[test]
fn no_content_type_is_a_403_xml_answer() {
    let a = answer(&request(None, None, Some(SIGNED), b"{}"));
    assert_eq!((a.status, a.content_type), (403, None));
    assert_eq!(
        text(&a),
        "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n"
    );
    let a = answer(&request(None, LIST, None, b""));
    assert_eq!(
        text(&a),
        "<MissingAuthenticationTokenException>\n  <Message>Missing Authentication Token</Message>\n</MissingAuthenticationTokenException>\n"
    );
}

#[test]
fn empty_bodies_are_serialization_or_unknown_operation_without_a_message() {
    let a = answer(&request(Some(JSON_11), LIST, Some(SIGNED), b""));
    assert_eq!(
        (a.status, text(&a)),
        (400, r#"{"__type":"SerializationException"}"#)
    );
    let a = answer(&request(Some(JSON_11), None, None, b""));
    assert_eq!(
        (a.status, text(&a)),
        (400, r#"{"__type":"UnknownOperationException"}"#)
    );
    // Any other content type gets CBOR answers.
    let a = answer(&request(
        Some("application/x-amz-json-1.0"),
        LIST,
        Some(SIGNED),
        b"",
    ));
    assert_eq!((a.status, a.content_type), (400, Some(CBOR_11)));
    assert_eq!(a.error_type, Some("SerializationException"));
}

#[test]
fn legacy_json_gets_the_legacy_envelope() {
    let a = answer(&request(
        Some("application/json"),
        LIST,
        Some(SIGNED),
        b"{}",
    ));
    assert_eq!(a.status, 200);
    assert_eq!(
        text(&a),
        r#"{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException","message":null},"Version":"1.0"}"#
    );
    let a = answer(&request(Some("application/json"), LIST, None, b"hello"));
    assert_eq!(
        text(&a),
        r#"{"Output":{"__type":"com.amazon.coral.service#SerializationException","Message":null},"Version":"1.0"}"#
    );
}

#[test]
fn unknown_content_types_with_a_body() {
    let a = answer(&request(Some("text/plain"), LIST, Some(SIGNED), b"{}"));
    assert_eq!(
        (a.status, text(&a)),
        (404, "<UnknownOperationException/>\n")
    );
    let a = answer(&request(Some("text/plain"), None, Some(SIGNED), b"{}"));
    assert_eq!(a.status, 403);
}

#[test]
fn unparsable_bodies_come_before_unknown_operations_and_missing_credentials() {
    let a = answer(&request(Some(JSON_11), LIST, None, b"hello"));
    assert_eq!(text(&a), r#"{"__type":"SerializationException"}"#);
    let a = answer(&request(
        Some(JSON_11),
        Some("Kinesis_20131202.ListStream"),
        None,
        b"hello",
    ));
    assert_eq!(text(&a), r#"{"__type":"SerializationException"}"#);
    let a = answer(&request(
        Some(JSON_11),
        Some("Kinesis_20131202.ListStream"),
        None,
        b"{}",
    ));
    assert_eq!(text(&a), r#"{"__type":"UnknownOperationException"}"#);
}

#[test]
fn credentials_must_be_present() {
    let a = answer(&request(Some(JSON_11), LIST, None, b"{}"));
    assert_eq!(
        (a.status, text(&a)),
        (
            400,
            r#"{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}"#
        )
    );
    let router = Router::new().with_target(Arc::new(Fake));
    let r = request(Some(JSON_11), LIST, None, b"{}");
    assert!(matches!(
        decide(&router, &r, AuthMode::None),
        Decision::Dispatch { .. }
    ));
    let r = request(Some(JSON_11), LIST, Some(SIGNED), b"{}");
    assert!(matches!(
        decide(&router, &r, AuthMode::Presence),
        Decision::Dispatch { .. }
    ));
}

#[test]
fn non_post_methods_are_403() {
    let mut r = request(None, None, None, b"");
    r.method = "GET";
    assert!(text(&unroutable(&r, AuthMode::Presence)).contains("MissingAuthenticationToken"));
    r.authorization = Some(SIGNED);
    assert!(text(&unroutable(&r, AuthMode::Presence)).contains("AccessDenied"));
}
