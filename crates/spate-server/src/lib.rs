//! The front door: HTTP/1.1 and HTTP/2 cleartext on one port, `X-Amz-Target` routing to the
//! services, the error envelope, and `/health`.

mod http;
mod kinesis_routes;
mod subscribe;

pub use http::{serve, ServerOptions};
