//! The front door's settings: limits, authentication, the audit log and TLS.

use super::FileConfig;
use clap::Args;
use spate_server::tls::TlsFiles;
use spate_server::{AuthMode, ServerOptions};
use std::path::PathBuf;
use std::sync::Arc;

/// The front door's settings (see `spate_server::ServerOptions` for what each bounds).
#[derive(Args, Debug, Default)]
pub struct ServerArgs {
    /// Credentials check without a credentials file: `presence` (SigV4 parts must be present
    /// and well formed) or `none`.
    #[arg(long, env = "SPATE_AUTH")]
    pub auth: Option<String>,
    /// The access keys Spate accepts (TOML, `[[credentials]]` tables): with it every request's
    /// SigV4 signature is verified.
    #[arg(long, env = "SPATE_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// Audit log of control-plane calls and refused requests (JSON lines): a file, or `-` for
    /// stderr.
    #[arg(long, env = "SPATE_AUDIT_LOG")]
    pub audit_log: Option<String>,
    /// Serve TLS (HTTP/2 and HTTP/1.1 by ALPN) with this PEM certificate chain, leaf first;
    /// needs --tls-key. SIGHUP reads both files again.
    #[arg(long, env = "SPATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "SPATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Connections open at once.
    #[arg(long, env = "SPATE_CONNECTIONS_MAX")]
    pub connections_max: Option<usize>,
    /// Largest request body, in bytes.
    #[arg(long, env = "SPATE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Time for a request's headers to arrive, in milliseconds.
    #[arg(long, env = "SPATE_HEADER_READ_TIMEOUT_MS")]
    pub header_read_timeout_ms: Option<u64>,
    /// Time for a request's body to arrive, in milliseconds.
    #[arg(long, env = "SPATE_BODY_READ_TIMEOUT_MS")]
    pub body_read_timeout_ms: Option<u64>,
    /// An idle connection is closed after this many milliseconds.
    #[arg(long, env = "SPATE_IDLE_TIMEOUT_MS")]
    pub idle_timeout_ms: Option<u64>,
    /// A connection whose responses make no progress this long is closed, in milliseconds.
    #[arg(long, env = "SPATE_RESPONSE_STALL_TIMEOUT_MS")]
    pub response_stall_timeout_ms: Option<u64>,
    /// Bytes of unsent responses the server holds at most.
    #[arg(long, env = "SPATE_RESPONSE_BUFFER_BYTES_MAX")]
    pub response_buffer_bytes_max: Option<usize>,
    /// Bytes of unsent responses one connection holds at most.
    #[arg(long, env = "SPATE_CONNECTION_RESPONSE_BUFFER_BYTES_MAX")]
    pub connection_response_buffer_bytes_max: Option<usize>,
    /// HTTP/2 requests open at once on one connection.
    #[arg(long, env = "SPATE_H2_MAX_CONCURRENT_STREAMS")]
    pub h2_max_concurrent_streams: Option<u32>,
}

/// The front door's options.
pub(super) fn server_options(args: ServerArgs, file: &FileConfig) -> Result<ServerOptions, String> {
    let d = ServerOptions::default();
    let auth = match args.auth.as_deref().or(file.auth.as_deref()) {
        None | Some("presence") => AuthMode::Presence,
        Some("none") => AuthMode::None,
        Some(other) => return Err(format!("--auth {other}: expected presence or none")),
    };
    let credentials = match args
        .credentials_file
        .as_ref()
        .or(file.credentials_file.as_ref())
    {
        Some(path) => Some(Arc::new(spate_auth::CredentialStore::load(path)?)),
        None => None,
    };
    let audit = match args.audit_log.as_deref().or(file.audit_log.as_deref()) {
        Some(target) => Some(Arc::new(
            spate_server::audit::AuditLog::open(target)
                .map_err(|e| format!("--audit-log {target}: {e}"))?,
        )),
        None => None,
    };
    let tls_cert = args.tls_cert.as_ref().or(file.tls_cert.as_ref());
    let tls = match (tls_cert, args.tls_key.as_ref().or(file.tls_key.as_ref())) {
        (Some(cert), Some(key)) => Some(Arc::new(TlsFiles::load(cert, key)?)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(ServerOptions {
        auth,
        tls,
        credentials,
        audit,
        region: d.region.clone(),
        account_id: d.account_id.clone(),
        connections_max: pick!(args, file, connections_max, d.connections_max),
        max_body_bytes: pick!(args, file, max_body_bytes, d.max_body_bytes),
        header_read_timeout_ms: pick!(args, file, header_read_timeout_ms, d.header_read_timeout_ms),
        body_read_timeout_ms: pick!(args, file, body_read_timeout_ms, d.body_read_timeout_ms),
        idle_timeout_ms: pick!(args, file, idle_timeout_ms, d.idle_timeout_ms),
        response_stall_timeout_ms: pick!(
            args,
            file,
            response_stall_timeout_ms,
            d.response_stall_timeout_ms
        ),
        response_buffer_bytes_max: pick!(
            args,
            file,
            response_buffer_bytes_max,
            d.response_buffer_bytes_max
        ),
        connection_response_buffer_bytes_max: pick!(
            args,
            file,
            connection_response_buffer_bytes_max,
            d.connection_response_buffer_bytes_max
        ),
        h2_max_concurrent_streams: pick!(
            args,
            file,
            h2_max_concurrent_streams,
            d.h2_max_concurrent_streams
        ),
        shutdown_grace_ms: d.shutdown_grace_ms,
    })
}
