//! The audit log (`--audit-log FILE`, or `-` for stderr): one JSON line per control-plane call
//! and per refused request, with the principal, the action, the resource, the client's address
//! and the outcome. Data-plane calls (records in and out) that are allowed are not logged: they
//! are the volume, not the changes.

use std::io::Write;
use std::sync::Mutex;

/// Operations that move records rather than change resources.
const DATA_PLANE: &[&str] = &[
    "PutRecord",
    "PutRecords",
    "GetRecords",
    "GetShardIterator",
    "SubscribeToShard",
    "PutRecordBatch",
    "ReceiveQueueRecords",
    "AcknowledgeQueueRecords",
    "UpdateQueueRecordsVisibility",
    "ReceiveDeadLetterQueueRecords",
    "AcknowledgeDeadLetterQueueRecords",
    "UpdateDeadLetterQueueRecordsVisibility",
    "RestoreDeadLetterQueueRecords",
];

pub struct AuditLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

/// A JSON-protocol call as the front door saw it.
pub struct Call<'a> {
    pub service: &'a dyn spate_wire::service::TargetService,
    pub operation: &'a str,
    pub body: &'a [u8],
    pub headers: &'a hyper::HeaderMap,
    pub source: Option<std::net::IpAddr>,
}

/// The access key a request's Authorization header names (for refused requests).
fn access_key(headers: &hyper::HeaderMap) -> Option<String> {
    let header = headers.get("authorization")?.to_str().ok()?;
    let credential = header.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

/// The verified principal; for a request that failed authentication, the key it named.
pub(crate) fn principal_of(
    credential: Option<&spate_auth::Credential>,
    headers: &hyper::HeaderMap,
) -> String {
    match credential {
        Some(c) => c.principal.clone(),
        None => access_key(headers).unwrap_or_else(|| "anonymous".into()),
    }
}

/// One audited request.
pub struct Entry<'a> {
    pub principal: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub source: Option<std::net::IpAddr>,
    /// `None`: allowed; `Some(code)`: refused with that exception.
    pub refused: Option<&'a str>,
}

impl AuditLog {
    /// `-` is stderr; anything else a file appended to.
    pub fn open(target: &str) -> std::io::Result<AuditLog> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stderr())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(target)?,
            )
        };
        Ok(AuditLog {
            out: Mutex::new(out),
        })
    }

    /// Whether an allowed call of `operation` is logged.
    pub fn wants(&self, operation: &str) -> bool {
        !DATA_PLANE.contains(&operation)
    }

    /// Logs a JSON-protocol call: always when refused, when allowed unless it moves records.
    pub fn record_call(
        &self,
        options: &crate::options::ServerOptions,
        call: &Call<'_>,
        credential: Option<&spate_auth::Credential>,
        refused: Option<&spate_wire::ApiError>,
    ) {
        let refused = refused.map(|e| e.kind.code());
        if refused.is_none() && !self.wants(call.operation) {
            return;
        }
        let principal = principal_of(credential, call.headers);
        let action = format!(
            "{}:{}",
            crate::authorize::namespace(call.service.target_prefix()),
            call.operation
        );
        let resource =
            crate::authorize::resource_of(options, call.service.target_prefix(), call.body);
        self.record(&Entry {
            principal: &principal,
            action: &action,
            resource: &resource,
            source: call.source,
            refused,
        });
    }

    pub fn record(&self, e: &Entry<'_>) {
        let time = jiff_now();
        let line = format!(
            "{{\"time\":{},\"principal\":{},\"action\":{},\"resource\":{},\"source\":{},\"outcome\":{}}}\n",
            time,
            quoted(e.principal),
            quoted(e.action),
            quoted(e.resource),
            quoted(&e.source.map(|ip| ip.to_string()).unwrap_or_default()),
            quoted(&match e.refused {
                None => "allowed".to_string(),
                Some(code) => format!("denied: {code}"),
            }),
        );
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

fn jiff_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    ms.to_string()
}

/// A JSON string.
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}
