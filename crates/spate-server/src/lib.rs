//! The front door: one listener for every service (HTTP/1.1 and HTTP/2, cleartext or TLS, on
//! one port).
//!
//! * [`router`]: AWS JSON services by `X-Amz-Target` prefix, REST services by method and path.
//! * [`edge`]: AWS's protocol edges (method, content type, target, body syntax, credentials
//!   presence) answered as AWS answers them, before a service sees a request.
//! * Written once for every service: request ids, CORS, body limits, the connection limit,
//!   idle and stall timeouts, the response buffer budget, metrics (`/metrics`), `/health`, and
//!   graceful drain.

pub mod audit;
pub mod auth;
mod authorize;
mod body;
mod conn;
pub mod edge;
mod http;
mod metrics;
mod options;
mod request;
mod rest;
pub mod router;
pub mod tls;

pub use auth::AuthMode;
pub use http::serve;
pub use options::ServerOptions;
pub use router::Router;
