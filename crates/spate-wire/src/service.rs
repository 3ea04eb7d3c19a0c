//! The boundary between the front door and the services behind it. A service is addressed by
//! an `X-Amz-Target` prefix; the front door has already checked the protocol edges (method,
//! content type, authentication) and read the body when it calls [`TargetService::call`]. A
//! service never sees HTTP.

use crate::codec::{decode, encode, Encoding};
use crate::ApiError;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One operation call.
pub struct Call {
    pub operation: &'static str,
    pub encoding: Encoding,
    pub body: Bytes,
}

/// What a call answers.
pub enum Reply {
    /// The encoded output; empty for operations that have none (AWS answers those with an
    /// empty body, not `{}`).
    Output(Vec<u8>),
    Error(ApiError),
    /// An `application/vnd.amazon.eventstream` response: each item is one encoded message.
    /// The channel's capacity bounds what is produced ahead of the connection.
    EventStream(tokio::sync::mpsc::Receiver<Bytes>),
}

impl From<Result<Vec<u8>, ApiError>> for Reply {
    fn from(r: Result<Vec<u8>, ApiError>) -> Reply {
        match r {
            Ok(body) => Reply::Output(body),
            Err(e) => Reply::Error(e),
        }
    }
}

/// What the front door needs to know of an operation before calling it.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub name: &'static str,
    /// The most bytes a response of this operation can hold; the front door reserves that much
    /// of its response buffer budget before the call (see `response_buffer_bytes_max`).
    pub response_max_bytes: usize,
}

impl Operation {
    pub const fn new(name: &'static str) -> Operation {
        Operation {
            name,
            response_max_bytes: 1 << 20,
        }
    }

    pub const fn with_response_max_bytes(self, response_max_bytes: usize) -> Operation {
        Operation {
            response_max_bytes,
            ..self
        }
    }
}

/// A service of the AWS JSON protocols, addressed by `X-Amz-Target: <prefix>.<Operation>`.
pub trait TargetService: Send + Sync + 'static {
    /// The target prefix without the dot, e.g. `Kinesis_20131202`.
    fn target_prefix(&self) -> &'static str;
    /// Whether the service also speaks `application/x-amz-cbor-1.1` (the Java SDK's encoding).
    fn speaks_cbor(&self) -> bool {
        false
    }
    /// The JSON protocol version the service speaks: `Json` (1.1, most services) or `Json10`
    /// (DynamoDB); a request in the other is not routed to it.
    fn json_version(&self) -> crate::codec::Encoding {
        crate::codec::Encoding::Json
    }
    /// The operation named `name`, if the service has it.
    fn operation(&self, name: &str) -> Option<Operation>;
    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply>;
    /// The server is shutting down: end long-lived responses (event streams) cleanly.
    fn close(&self) {}
    /// The resource-based policy attached to `resource_arn` (JSON), for authorization.
    fn resource_policy(&self, _resource_arn: &str) -> Option<String> {
        None
    }
    /// False only when none of its resources can have a policy (authorization may skip
    /// finding the resource of a request then).
    fn may_have_resource_policies(&self) -> bool {
        false
    }
}

/// A request to a REST-style service (routed by method and path, e.g. Lambda's
/// `/2015-03-31/...`, `/health`, `/metrics`).
pub struct RestCall {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl RestCall {
    /// The first value of the header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A REST-style answer.
pub struct RestReply {
    /// The operation's name, for metrics (a path would be a label per resource).
    pub operation: &'static str,
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl RestReply {
    pub fn text(status: u16, body: impl Into<String>) -> RestReply {
        RestReply {
            operation: "Rest",
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }
}

/// A service addressed by HTTP method and path rather than by `X-Amz-Target`.
pub trait RestService: Send + Sync + 'static {
    /// The service's name, for metrics.
    fn name(&self) -> &'static str;
    /// Whether its requests must be signed when the server verifies signatures (`/health` and
    /// `/metrics` are not AWS operations and answer anyone).
    fn authenticated(&self) -> bool {
        true
    }
    fn matches(&self, method: &str, path: &str) -> bool;
    /// What a request asks to do, for authorization and the audit log; `None` for a request
    /// that names no operation (the service answers it with its own error).
    fn action(&self, _method: &str, _path: &str, _body: &[u8]) -> Option<RestAction> {
        None
    }
    fn call(self: Arc<Self>, call: RestCall) -> BoxFuture<RestReply>;
}

/// The IAM action a REST request performs and the resource it performs it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestAction {
    /// `lambda:CreateFunction`.
    pub action: String,
    /// The resource's ARN, or `*` for actions on no one resource (List*, Create* of mappings).
    pub resource: String,
    /// Moves data (an invocation) rather than changing or reading configuration: not audited
    /// when allowed.
    pub data_plane: bool,
}

/// Decodes a call's input, runs `op`, encodes its output. Operations without output answer an
/// empty body, as AWS does, not an empty structure.
pub async fn run<I, O, F, Fut>(call: &Call, op: F) -> Reply
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, ApiError>>,
{
    let encoding = call.encoding;
    let input = match decode::<I>(encoding, &call.body) {
        Ok(input) => input,
        Err(e) => return Reply::Error(e),
    };
    match op(input).await {
        Ok(output) => Reply::Output(without_empty_structure(encode(encoding, &output))),
        Err(e) => Reply::Error(e),
    }
}

fn without_empty_structure(body: Vec<u8>) -> Vec<u8> {
    match body.as_slice() {
        b"{}" | [0xa0] => Vec::new(),
        _ => body,
    }
}
