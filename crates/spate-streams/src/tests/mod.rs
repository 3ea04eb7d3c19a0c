//! In-process tests of the service: the in-memory log and catalog, an injected clock, and
//! requests through the same wire edge the front door uses. CREATING/UPDATING/DELETING windows,
//! iterator expiry, retention and throttling are driven by moving the clock, never by sleeping.

mod consumers;
mod lifecycle;
mod records;
mod validation;

use crate::api::KinesisApi;
use crate::{Keyring, Kinesis, MasterKey, MasterKeySource, ServiceConfig};
use serde_json::{json, Value};
use spate_catalog::MemCatalog;
use spate_log::mem::MemStorage;
use spate_log::{Clock, Log, LogOptions};
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, TargetService};
use spate_wire::ApiError;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// 2026-12-01T00:00:00Z.
const START_MS: i64 = 1_796_083_200_000;

pub(crate) struct Harness {
    pub kinesis: Arc<Kinesis>,
    api: Arc<KinesisApi>,
    now: Arc<AtomicI64>,
    _log: Arc<Log>,
}

impl Harness {
    pub async fn new(config: ServiceConfig) -> Harness {
        let now = Arc::new(AtomicI64::new(START_MS));
        let read = now.clone();
        let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
        let storage = Arc::new(MemStorage::new());
        let log =
            Log::open(storage, "/log".into(), LogOptions::default(), clock.clone()).expect("log");
        let log = Arc::new(log);
        let key = MasterKey::generate().expect("key");
        let keyring = Keyring::new(MasterKeySource::Key(Box::new(key)), &[]);
        let kinesis = Kinesis::open(config, log.clone(), Arc::new(MemCatalog), clock, keyring)
            .await
            .expect("service");
        Harness {
            api: KinesisApi::new(kinesis.clone()),
            kinesis,
            now,
            _log: log,
        }
    }

    /// Delays of zero: streams are ACTIVE at once.
    pub async fn instant() -> Harness {
        Harness::new(ServiceConfig {
            creating_delay_ms: 0,
            deleting_delay_ms: 0,
            updating_delay_ms: 0,
            ..ServiceConfig::default()
        })
        .await
    }

    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Calls an operation with a JSON body; the decoded output, or the error.
    pub async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        let op = self.api.operation(operation).expect("known operation");
        let call = Call {
            operation: op.name,
            encoding: Encoding::Json,
            body: serde_json::to_vec(&body).expect("json").into(),
        };
        match self.api.clone().call(call).await {
            Reply::Output(bytes) if bytes.is_empty() => Ok(Value::Null),
            Reply::Output(bytes) => Ok(serde_json::from_slice(&bytes).expect("output json")),
            Reply::Error(e) => Err(e),
            Reply::EventStream(_) => panic!("unexpected event stream"),
        }
    }

    pub async fn ok(&self, operation: &str, body: Value) -> Value {
        self.call(operation, body)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    pub async fn err(&self, operation: &str, body: Value) -> ApiError {
        match self.call(operation, body).await {
            Ok(v) => panic!("{operation} succeeded: {v}"),
            Err(e) => e,
        }
    }

    pub async fn create(&self, name: &str, shards: u32) {
        self.ok(
            "CreateStream",
            json!({"StreamName": name, "ShardCount": shards}),
        )
        .await;
    }

    pub async fn status(&self, name: &str) -> String {
        let out = self
            .ok("DescribeStreamSummary", json!({"StreamName": name}))
            .await;
        out["StreamDescriptionSummary"]["StreamStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn put(&self, name: &str, key: &str, data: &[u8]) -> Result<Value, ApiError> {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(data);
        self.call(
            "PutRecord",
            json!({"StreamName": name, "PartitionKey": key, "Data": data}),
        )
        .await
    }

    pub async fn iterator(&self, name: &str, shard: &str, kind: &str) -> String {
        let body = json!({"StreamName": name, "ShardId": shard, "ShardIteratorType": kind});
        let out = self.ok("GetShardIterator", body).await;
        out["ShardIterator"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn records(&self, iterator: &str) -> Result<Value, ApiError> {
        self.call("GetRecords", json!({"ShardIterator": iterator}))
            .await
    }
}
