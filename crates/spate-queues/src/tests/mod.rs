//! Queues in process: Kinesis and the queues' journal over the in-memory log (with its crash
//! simulator), a redb catalog in a temporary directory, an injected clock for visibility
//! timeouts.

mod control;
mod delivery;

use crate::api::QueuesApi;
use crate::{Queues, QueuesConfig};
use serde_json::{json, Value};
use spate_log::mem::MemStorage;
use spate_log::{Clock, Log, LogOptions};
use spate_streams::api::KinesisApi;
use spate_streams::{ApiError, Keyring, Kinesis, MasterKeySource, RedbCatalog, ServiceConfig};
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, TargetService};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// 2026-12-01T00:00:00Z.
pub const START_MS: i64 = 1_796_083_200_000;

pub struct Harness {
    pub queues: Arc<Queues>,
    kinesis_api: Arc<KinesisApi>,
    api: Arc<QueuesApi>,
    pub now: Arc<AtomicI64>,
    dir: PathBuf,
    storage: Arc<MemStorage>,
    catalog: Arc<RedbCatalog>,
    logs: Vec<Arc<Log>>,
    config: QueuesConfig,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(QueuesConfig::new("us-east-1", "000000000000")).await
    }

    pub async fn with(config: QueuesConfig) -> Harness {
        let dir = std::env::temp_dir().join(format!("spate-queues-{}", uuid()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let catalog = Arc::new(RedbCatalog::open(&dir.join("catalog.redb")).expect("catalog"));
        let storage = Arc::new(MemStorage::with_power_loss_tracking());
        let now = Arc::new(AtomicI64::new(START_MS));
        Harness::open(dir, storage, catalog, now, config).await
    }

    async fn open(
        dir: PathBuf,
        storage: Arc<MemStorage>,
        catalog: Arc<RedbCatalog>,
        now: Arc<AtomicI64>,
        config: QueuesConfig,
    ) -> Harness {
        let read = now.clone();
        let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
        let open_log = |root: &str| {
            let log = Log::open(
                storage.clone(),
                root.into(),
                LogOptions::default(),
                clock.clone(),
            );
            Arc::new(log.expect("log"))
        };
        let (kinesis_log, queue_log) = (open_log("/kinesis"), open_log("/queues"));
        let key = spate_keyring::MasterKey::from_bytes(&[7u8; 32]);
        let keyring = Keyring::new(MasterKeySource::Key(Box::new(key)), &[]);
        let service = ServiceConfig {
            creating_delay_ms: 0,
            deleting_delay_ms: 0,
            updating_delay_ms: 0,
            ..ServiceConfig::default()
        };
        let kinesis = Kinesis::open(
            service,
            kinesis_log.clone(),
            catalog.clone(),
            clock.clone(),
            keyring,
        )
        .await
        .expect("kinesis");
        let queues = Queues::open(
            config.clone(),
            kinesis.clone(),
            queue_log.clone(),
            catalog.clone(),
            clock,
        )
        .await
        .expect("queues");
        Harness {
            api: QueuesApi::new(queues.clone()),
            kinesis_api: KinesisApi::new(kinesis),
            queues,
            now,
            dir,
            storage,
            catalog,
            logs: vec![kinesis_log, queue_log],
            config,
        }
    }

    /// The server as a `kill -9` leaves it, opened again over the same storage and catalog.
    pub async fn restart_after_crash(self) -> Harness {
        self.logs.iter().for_each(|l| l.shutdown());
        let storage = Arc::new(self.storage.after_process_crash());
        Harness::open(
            self.dir.clone(),
            storage,
            self.catalog.clone(),
            self.now.clone(),
            self.config.clone(),
        )
        .await
    }

    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    async fn call_on(
        service: Arc<dyn TargetService>,
        operation: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        let op = service.operation(operation).expect("operation");
        let call = Call {
            operation: op.name,
            encoding: Encoding::Json,
            body: serde_json::to_vec(&body).expect("json").into(),
        };
        match service.call(call).await {
            Reply::Output(bytes) if bytes.is_empty() => Ok(Value::Null),
            Reply::Output(bytes) => Ok(serde_json::from_slice(&bytes).expect("output")),
            Reply::Error(e) => Err(e),
            Reply::EventStream(_) => panic!("event stream"),
        }
    }

    pub async fn kinesis(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        Harness::call_on(self.kinesis_api.clone(), operation, body).await
    }

    pub async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        Harness::call_on(self.api.clone(), operation, body).await
    }

    pub async fn ok(&self, operation: &str, body: Value) -> Value {
        self.call(operation, body)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    pub async fn on_demand_stream(&self, name: &str) -> String {
        let body = json!({"StreamName": name, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}});
        self.kinesis("CreateStream", body)
            .await
            .expect("CreateStream");
        format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}")
    }

    pub async fn put(&self, stream: &str, datas: &[&str]) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        for (i, d) in datas.iter().enumerate() {
            let body = json!({"StreamName": stream, "Data": b64.encode(d), "PartitionKey": format!("pk{i}")});
            self.kinesis("PutRecord", body).await.expect("PutRecord");
        }
    }

    /// A queue on `stream` from TRIM_HORIZON with `attributes`; its ARN.
    pub async fn queue(&self, name: &str, stream_arn: &str, attributes: Value) -> String {
        let mut body = json!({
            "QueueName": name,
            "StreamConfigurationList": [{"StreamARN": stream_arn, "StartingPosition": {"Type": "TRIM_HORIZON"}}],
        });
        if !attributes.is_null() {
            body["QueueAttributes"] = attributes;
        }
        let out = self.ok("CreateQueue", body).await;
        out["QueueDescription"]["QueueARN"]
            .as_str()
            .expect("arn")
            .to_string()
    }

    /// Receives (no wait): (data, handle, receive count, record id) of each record.
    pub async fn receive(&self, arn: &str, limit: u32) -> Vec<(String, String, u64, String)> {
        self.receive_from("ReceiveQueueRecords", arn, limit).await
    }

    pub async fn receive_from(
        &self,
        op: &str,
        arn: &str,
        limit: u32,
    ) -> Vec<(String, String, u64, String)> {
        use base64::Engine;
        let out = self.ok(op, json!({"QueueARN": arn, "Limit": limit})).await;
        out["QueueRecords"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(r["Data"].as_str().expect("data"))
                    .expect("base64");
                (
                    String::from_utf8(data).expect("utf8"),
                    r["ReceiptHandle"].as_str().expect("handle").to_string(),
                    r["ReceiveCount"].as_u64().expect("count"),
                    r["RecordId"].as_str().expect("id").to_string(),
                )
            })
            .collect()
    }

    pub async fn entries(&self, op: &str, arn: &str, handles: &[&str]) -> Value {
        let entries: Vec<Value> = handles
            .iter()
            .map(|h| json!({"ReceiptHandle": h}))
            .collect();
        self.ok(op, json!({"QueueARN": arn, "Entries": entries}))
            .await
    }
}

fn uuid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}-{:x}", std::process::id())
}
