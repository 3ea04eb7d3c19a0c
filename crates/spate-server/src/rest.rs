//! REST services (Lambda's `/2015-03-31/...`): the same authentication, authorization and
//! audit log as the JSON services, answered in the REST-JSON protocol's form (403 with
//! `x-amzn-ErrorType`).

use crate::authorize::{authorize_asked, Asked};
use crate::body::FullBody;
use crate::conn::ConnState;
use crate::http::Shared;
use crate::request::{auth_kind, authenticate, insert, read_body, Routed};
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::header::HeaderName;
use hyper::{Request, Response, StatusCode};
use spate_wire::service::{RestAction, RestCall, RestService};
use spate_wire::ApiError;
use std::sync::Arc;

pub(crate) async fn call_rest(
    rest: Arc<dyn RestService>,
    req: Request<Incoming>,
    shared: &Shared,
    state: &ConnState,
) -> Routed {
    let method = req.method().as_str().to_string();
    let uri = req.uri().clone();
    let request_headers = req.headers().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let headers = req
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = match read_body(req, shared).await {
        Ok(body) => body,
        Err(response) => return (response, "edge".into(), "Body"),
    };
    let service = rest.name().to_string();
    if rest.authenticated() {
        let asked = rest.action(&method, &path, &body);
        let checked = check(
            shared,
            state,
            asked.as_ref(),
            (&method, &uri, &request_headers),
            &body,
        );
        if let Err(e) = checked {
            return (refusal(&e), service, "Auth");
        }
    }
    let reply = rest
        .call(RestCall {
            method,
            path,
            query,
            headers,
            body,
        })
        .await;
    let reply_operation = reply.operation;
    let mut response = Response::new(Either::Left(FullBody::new(reply.body, None)));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    insert(
        response.headers_mut(),
        hyper::header::CONTENT_TYPE,
        reply.content_type,
    );
    for (name, value) in reply.headers {
        insert(
            response.headers_mut(),
            HeaderName::from_static(name),
            &value,
        );
    }
    (response, service, reply_operation)
}

/// Verifies the signature, then (for a verified principal) the policies; audits control-plane
/// calls and every refusal.
fn check(
    shared: &Shared,
    state: &ConnState,
    asked: Option<&RestAction>,
    (method, uri, headers): (&str, &hyper::Uri, &hyper::HeaderMap),
    body: &[u8],
) -> Result<(), ApiError> {
    let authenticated = authenticate(shared, method, uri, headers, body)
        .map_err(|e| ApiError::new(auth_kind(&e), e.message()));
    let credential = authenticated.as_ref().ok().cloned().flatten();
    let checked = authenticated.and_then(|_| match (&credential, asked) {
        (Some(credential), Some(asked)) => {
            let asked = Asked {
                action: &asked.action,
                resource: &asked.resource,
                // Spate keeps no Lambda resource policies (AddPermission is not served).
                resource_policy: None,
            };
            authorize_asked(&shared.options, &asked, credential, state)
        }
        _ => Ok(()),
    });
    if let (Some(audit), Some(asked)) = (&shared.options.audit, asked) {
        if checked.is_err() || !asked.data_plane {
            let principal = crate::audit::principal_of(credential.as_ref(), headers);
            audit.record(&crate::audit::Entry {
                principal: &principal,
                action: &asked.action,
                resource: &asked.resource,
                source: state.peer,
                refused: checked.as_ref().err().map(|e| e.kind.code()),
            });
        }
    }
    checked
}

/// A refusal in the REST-JSON protocol's form.
fn refusal(e: &ApiError) -> Response<crate::body::ServerBody> {
    let body = serde_json::json!({ "message": e.message }).to_string();
    let mut response = Response::new(Either::Left(FullBody::new(body.into_bytes(), None)));
    *response.status_mut() = StatusCode::FORBIDDEN;
    insert(
        response.headers_mut(),
        hyper::header::CONTENT_TYPE,
        "application/json",
    );
    insert(
        response.headers_mut(),
        HeaderName::from_static("x-amzn-errortype"),
        e.kind.code(),
    );
    response
}
