//! In-process tests of the Firehose service: the in-memory log (with its power-loss
//! simulator), a catalog that keeps documents in memory, the in-memory object store, an
//! injected clock for lifecycles, and tokio's clock paused (once the records are in: the log
//! commits on its own thread, which a paused clock would race) for buffering intervals and
//! retries.

mod channels;
mod control;
mod conversion;
mod delivery;
mod processing;
mod source;
mod splunk;

use crate::api::{FirehoseAdminApi, FirehoseApi};
use crate::{Firehose, FirehoseConfig};
use serde_json::{json, Value};
use spate_log::mem::MemStorage;
use spate_log::{Clock, Log, LogOptions};
use spate_objects::MemStore;
use spate_streams::api::KinesisApi;
use spate_streams::{Keyring, Kinesis, MasterKey, MasterKeySource, MemCatalog, ServiceConfig};
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, TargetService};
use spate_wire::ApiError;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// 2026-12-01T00:00:00Z.
pub const START_MS: i64 = 1_796_083_200_000;

/// Kinesis in memory beside Firehose (its catalog keeps nothing: streams last one opening).
async fn open_kinesis(storage: &Arc<MemStorage>, clock: Clock) -> Arc<Kinesis> {
    let log = Log::open(
        storage.clone(),
        "/kinesis".into(),
        LogOptions::default(),
        clock.clone(),
    );
    let log = Arc::new(log.expect("kinesis log"));
    // A fixed master key: a restarted harness must unwrap the data keys it stored.
    let key = MasterKey::from_bytes(&[7u8; 32]);
    let keyring = Keyring::new(MasterKeySource::Key(Box::new(key)), &[]);
    let config = ServiceConfig {
        creating_delay_ms: 0,
        deleting_delay_ms: 0,
        updating_delay_ms: 0,
        ..ServiceConfig::default()
    };
    Kinesis::open(config, log, Arc::new(MemCatalog), clock, keyring)
        .await
        .expect("kinesis")
}

pub struct Harness {
    pub firehose: Arc<Firehose>,
    /// A Kinesis service on the same storage (in memory), for KinesisStreamAsSource.
    pub kinesis: Arc<Kinesis>,
    kinesis_api: Arc<KinesisApi>,
    channels_api: Arc<crate::channels::api::ChannelsApi>,
    api: Arc<FirehoseApi>,
    admin: Arc<FirehoseAdminApi>,
    pub now: Arc<AtomicI64>,
    pub storage: Arc<MemStorage>,
    pub catalog: Arc<spate_catalog::MemDocCatalog>,
    pub objects: Arc<MemStore>,
    pub log: Arc<Log>,
}

pub fn instant_config() -> FirehoseConfig {
    FirehoseConfig {
        creating_delay_ms: 0,
        deleting_delay_ms: 0,
        updating_delay_ms: 0,
        ..FirehoseConfig::default()
    }
}

impl Harness {
    pub async fn new(config: FirehoseConfig) -> Harness {
        let storage = Arc::new(MemStorage::with_power_loss_tracking());
        let now = Arc::new(AtomicI64::new(START_MS));
        Harness::open(config, storage, Arc::default(), Arc::default(), now).await
    }

    pub async fn instant() -> Harness {
        Harness::new(instant_config()).await
    }

    pub async fn open(
        config: FirehoseConfig,
        storage: Arc<MemStorage>,
        catalog: Arc<spate_catalog::MemDocCatalog>,
        objects: Arc<MemStore>,
        now: Arc<AtomicI64>,
    ) -> Harness {
        let read = now.clone();
        let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
        let log = Log::open(
            storage.clone(),
            "/firehose".into(),
            LogOptions::default(),
            clock.clone(),
        );
        let log = Arc::new(log.expect("log"));
        let kinesis = open_kinesis(&storage, clock.clone()).await;
        let source = Some(kinesis.clone());
        let firehose = Firehose::open(
            config,
            log.clone(),
            catalog.clone(),
            objects.clone(),
            source,
            clock,
        )
        .await
        .expect("firehose");
        Harness {
            kinesis_api: KinesisApi::new(kinesis.clone()),
            channels_api: crate::channels::api::ChannelsApi::new(firehose.clone()),
            kinesis,
            api: FirehoseApi::new(firehose.clone()),
            admin: FirehoseAdminApi::new(firehose.clone()),
            firehose,
            now,
            storage,
            catalog,
            objects,
            log,
        }
    }

    /// The service as a `kill -9` leaves it, opened again over the same storage and catalog.
    pub async fn restart_after_crash(self) -> Harness {
        self.log.shutdown();
        let storage = Arc::new(self.storage.after_process_crash());
        let config = self.firehose.config().clone();
        Harness::open(
            config,
            storage,
            self.catalog.clone(),
            self.objects.clone(),
            self.now.clone(),
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
        let op = service.operation(operation).expect("known operation");
        let call = Call {
            operation: op.name,
            encoding: Encoding::Json,
            body: serde_json::to_vec(&body).expect("json").into(),
        };
        match service.call(call).await {
            Reply::Output(bytes) if bytes.is_empty() => Ok(Value::Null),
            Reply::Output(bytes) => Ok(serde_json::from_slice(&bytes).expect("output json")),
            Reply::Error(e) => Err(e),
            Reply::EventStream(_) => panic!("unexpected event stream"),
        }
    }

    /// Calls a Kinesis operation (JSON body); the output.
    pub async fn kinesis(&self, operation: &str, body: Value) -> Value {
        Harness::call_on(self.kinesis_api.clone(), operation, body)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// Calls a Kinesis operation and gives the error too.
    pub async fn kinesis_call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        Harness::call_on(self.kinesis_api.clone(), operation, body).await
    }

    /// Calls a channel operation (Kinesis API, JSON body).
    pub async fn channel(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        Harness::call_on(self.channels_api.clone(), operation, body).await
    }

    pub async fn call(&self, operation: &str, body: Value) -> Result<Value, ApiError> {
        Harness::call_on(self.api.clone(), operation, body).await
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

    /// An ExtendedS3 delivery stream to bucket `bucket` with `extra` members merged in.
    pub async fn create(&self, name: &str, extra: Value) {
        let mut destination = json!({
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            "BucketARN": "arn:aws:s3:::bucket-1",
        });
        if let (Some(d), Some(e)) = (destination.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        let body =
            json!({"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": destination});
        self.ok("CreateDeliveryStream", body).await;
    }

    pub async fn put_batch(&self, name: &str, records: &[&[u8]]) -> Value {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let records: Vec<Value> = records
            .iter()
            .map(|r| json!({"Data": b64.encode(r)}))
            .collect();
        self.ok(
            "PutRecordBatch",
            json!({"DeliveryStreamName": name, "Records": records}),
        )
        .await
    }

    pub async fn flush(&self, name: &str) -> Result<Value, ApiError> {
        let body = json!({"DeliveryStreamName": name});
        Harness::call_on(self.admin.clone(), "FlushDeliveryStream", body).await
    }

    pub async fn describe(&self, name: &str) -> Value {
        let out = self
            .ok(
                "DescribeDeliveryStream",
                json!({"DeliveryStreamName": name}),
            )
            .await;
        out["DeliveryStreamDescription"].clone()
    }

    /// The stored record of a delivery stream.
    pub fn describe_record(
        &self,
        name: &str,
    ) -> std::sync::Arc<crate::model::DeliveryStreamRecord> {
        let name = crate::model::DeliveryStreamName::parse(name).expect("name");
        self.firehose.describe(&name).expect("stream")
    }

    /// Every delivered object as (key, body).
    pub fn delivered(&self) -> Vec<(String, Vec<u8>)> {
        self.objects
            .objects()
            .into_iter()
            .map(|(_, key, body, _)| (key, body.to_vec()))
            .collect()
    }
}
