//! The front door's bounds, with their units in their names.

use crate::auth::AuthMode;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted: a 10 MiB PutRecords grows by a third in base64. A larger
    /// declared Content-Length is refused at once (413).
    pub max_body_bytes: usize,
    /// Connections open at once; further clients wait in the listen backlog.
    pub connections_max: usize,
    /// A request's headers must arrive within this (slow-header clients are cut off).
    pub header_read_timeout_ms: u64,
    /// A request body must arrive within this (408 otherwise).
    pub body_read_timeout_ms: u64,
    /// A connection with no response in flight is closed after this long without traffic.
    pub idle_timeout_ms: u64,
    /// A connection whose in-flight responses make no progress this long is closed; a request
    /// that waits this long for response buffer budget gets a 503.
    pub response_stall_timeout_ms: u64,
    /// Bytes of responses buffered at once in the whole server.
    pub response_buffer_bytes_max: usize,
    /// Bytes of responses buffered at once for one connection.
    pub connection_response_buffer_bytes_max: usize,
    /// HTTP/2 streams (requests) open at once on one connection.
    pub h2_max_concurrent_streams: u32,
    /// Connections still open this long after shutdown starts are dropped.
    pub shutdown_grace_ms: u64,
    pub auth: AuthMode,
    /// With credentials, every request's SigV4 signature is verified against them
    /// (`--credentials-file`); without, only their presence and shape are checked.
    pub credentials: Option<std::sync::Arc<spate_auth::CredentialStore>>,
    /// The region and account resources belong to, for the ARNs authorization names.
    pub region: String,
    pub account_id: String,
    /// Where control-plane calls and refusals are logged (`--audit-log`).
    pub audit: Option<std::sync::Arc<crate::audit::AuditLog>>,
    /// With a certificate and key (`--tls-cert`, `--tls-key`) the port speaks TLS only, HTTP/2
    /// and HTTP/1.1 chosen by ALPN.
    pub tls: Option<std::sync::Arc<crate::tls::TlsFiles>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 16 << 20,
            connections_max: 4096,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 60_000,
            idle_timeout_ms: 120_000,
            response_stall_timeout_ms: 60_000,
            response_buffer_bytes_max: 1 << 30,
            connection_response_buffer_bytes_max: 64 << 20,
            h2_max_concurrent_streams: 64,
            shutdown_grace_ms: 5_000,
            auth: AuthMode::Presence,
            credentials: None,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            audit: None,
            tls: None,
        }
    }
}
