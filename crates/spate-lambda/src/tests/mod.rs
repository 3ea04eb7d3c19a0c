//! In-process tests of functions and event source mappings: Kinesis over the in-memory log
//! (with its crash simulator), a redb catalog in a temporary directory (so a restart finds
//! streams, functions, mappings and checkpoints), the in-memory object store, an injected
//! clock, and real `python3` handler modules run by Spate's runner. Waits poll for the
//! handler's output (no fixed sleeps).

mod api;
mod mappings;

use crate::api::LambdaApi;
use crate::{Lambda, LambdaConfig};
use serde_json::{json, Value};
use spate_log::mem::MemStorage;
use spate_log::{Clock, Log, LogOptions};
use spate_objects::MemStore;
use spate_streams::api::KinesisApi;
use spate_streams::{Keyring, Kinesis, MasterKeySource, RedbCatalog, ServiceConfig};
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, RestCall, RestService, TargetService};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// 2026-12-01T00:00:00Z.
pub const START_MS: i64 = 1_796_083_200_000;

/// A handler module that appends each batch's payloads (one JSON list per invocation) to
/// `$OUT` and, by `$MODE`, fails batches holding "poison" or reports them as item failures.
const HANDLER: &str = r#"
import base64, json, os

def handler(event, context):
    datas = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps(datas) + "\n")
    mode = os.environ.get("MODE", "ok")
    if mode == "fail-on-poison" and "poison" in datas:
        raise ValueError("poison in batch")
    if mode == "report":
        failed = [r["kinesis"]["sequenceNumber"] for r, d in zip(event["Records"], datas) if d == "poison"]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}
    if mode == "window":
        count = event["state"].get("count", 0) + len(datas)
        with open(os.environ["OUT"] + ".windows", "a") as f:
            f.write(json.dumps({"final": event["isFinalInvokeForWindow"], "state": event["state"], "n": len(datas), "start": event["window"]["start"]}) + "\n")
        return {"state": {"count": count}}
    return {"seen": len(datas), "remaining": context.get_remaining_time_in_millis() > 0}
"#;

pub struct Harness {
    pub lambda: Arc<Lambda>,
    kinesis_api: Arc<KinesisApi>,
    api: Arc<LambdaApi>,
    pub now: Arc<AtomicI64>,
    pub dir: PathBuf,
    storage: Arc<MemStorage>,
    catalog: Arc<RedbCatalog>,
    pub objects: Arc<MemStore>,
    log: Arc<Log>,
}

impl Harness {
    pub async fn new() -> Harness {
        let dir = std::env::temp_dir().join(format!("spate-lambda-{}", crate::ids::uuid()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let catalog = Arc::new(RedbCatalog::open(&dir.join("catalog.redb")).expect("catalog"));
        let storage = Arc::new(MemStorage::with_power_loss_tracking());
        let now = Arc::new(AtomicI64::new(START_MS));
        Harness::open(dir, storage, catalog, Arc::new(MemStore::new()), now).await
    }

    async fn open(
        dir: PathBuf,
        storage: Arc<MemStorage>,
        catalog: Arc<RedbCatalog>,
        objects: Arc<MemStore>,
        now: Arc<AtomicI64>,
    ) -> Harness {
        let read = now.clone();
        let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
        let log = Log::open(
            storage.clone(),
            "/kinesis".into(),
            LogOptions::default(),
            clock.clone(),
        );
        let log = Arc::new(log.expect("log"));
        let key = spate_keyring::MasterKey::from_bytes(&[7u8; 32]);
        let keyring = Keyring::new(MasterKeySource::Key(Box::new(key)), &[]);
        let config = ServiceConfig {
            creating_delay_ms: 0,
            deleting_delay_ms: 0,
            updating_delay_ms: 0,
            ..ServiceConfig::default()
        };
        let kinesis = Kinesis::open(config, log.clone(), catalog.clone(), clock.clone(), keyring)
            .await
            .expect("kinesis");
        let config = LambdaConfig::new(dir.join("code"));
        let object_store: Arc<dyn spate_objects::ObjectStore> = objects.clone();
        let lambda = Lambda::open(
            config,
            catalog.clone(),
            kinesis.clone(),
            Some(object_store),
            clock,
        )
        .await
        .expect("lambda");
        Harness {
            api: LambdaApi::new(lambda.clone()),
            kinesis_api: KinesisApi::new(kinesis),
            lambda,
            now,
            dir,
            storage,
            catalog,
            objects,
            log,
        }
    }

    /// The server as a `kill -9` leaves it, opened again over the same storage and catalog.
    pub async fn restart_after_crash(self) -> Harness {
        self.lambda.close();
        self.log.shutdown();
        let storage = Arc::new(self.storage.after_process_crash());
        Harness::open(
            self.dir.clone(),
            storage,
            self.catalog.clone(),
            self.objects.clone(),
            self.now.clone(),
        )
        .await
    }

    /// Calls the Lambda REST API: (status, JSON body or null, headers).
    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value, Vec<(&'static str, String)>) {
        self.rest_raw(
            method,
            path,
            serde_json::to_vec(&body).expect("json"),
            vec![],
        )
        .await
    }

    pub async fn rest_raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    ) -> (u16, Value, Vec<(&'static str, String)>) {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path.to_string(), None),
        };
        let call = RestCall {
            method: method.into(),
            path,
            query,
            headers,
            body: body.into(),
        };
        let reply = self.api.clone().call(call).await;
        let value = if reply.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&reply.body).expect("reply json")
        };
        (reply.status, value, reply.headers)
    }

    pub async fn kinesis(&self, operation: &str, body: Value) -> Value {
        let op = self.kinesis_api.operation(operation).expect("operation");
        let call = Call {
            operation: op.name,
            encoding: Encoding::Json,
            body: serde_json::to_vec(&body).expect("json").into(),
        };
        match self.kinesis_api.clone().call(call).await {
            Reply::Output(bytes) if bytes.is_empty() => Value::Null,
            Reply::Output(bytes) => serde_json::from_slice(&bytes).expect("output"),
            Reply::Error(e) => panic!("{operation}: {e}"),
            Reply::EventStream(_) => panic!("event stream"),
        }
    }

    pub async fn create_stream(&self, name: &str, shards: u32) {
        self.kinesis(
            "CreateStream",
            json!({"StreamName": name, "ShardCount": shards}),
        )
        .await;
    }

    pub async fn put(&self, stream: &str, datas: &[&str]) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        for (i, d) in datas.iter().enumerate() {
            let body = json!({"StreamName": stream, "Data": b64.encode(d), "PartitionKey": format!("pk{i}")});
            self.kinesis("PutRecord", body).await;
        }
    }

    /// Puts (partition key, data) pairs in order.
    pub async fn put_keyed(&self, stream: &str, records: &[(String, String)]) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        for (key, data) in records {
            let body = json!({"StreamName": stream, "Data": b64.encode(data), "PartitionKey": key});
            self.kinesis("PutRecord", body).await;
        }
    }

    /// Writes the test handler into a directory and creates a python function over it
    /// (S3Bucket `hot-reload`) whose output file is returned.
    pub async fn create_function(&self, name: &str, mode: &str) -> PathBuf {
        let code = self.dir.join(format!("src-{name}"));
        std::fs::create_dir_all(&code).expect("code dir");
        std::fs::write(code.join("handler.py"), HANDLER).expect("handler");
        let out = self.dir.join(format!("{name}.out"));
        let body = json!({
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": "arn:aws:iam::000000000000:role/lambda",
            "Handler": "handler.handler",
            "Code": {"S3Bucket": "hot-reload", "S3Key": code.display().to_string()},
            "Environment": {"Variables": {"OUT": out.display().to_string(), "MODE": mode}},
        });
        let (status, v, _) = self.rest("POST", "/2015-03-31/functions", body).await;
        assert_eq!(status, 201, "{v}");
        out
    }

    pub async fn create_mapping(&self, function: &str, stream: &str, extra: Value) -> String {
        let mut body = json!({
            "FunctionName": function,
            "EventSourceArn": format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}"),
            "StartingPosition": "TRIM_HORIZON",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, v, _) = self
            .rest("POST", "/2015-03-31/event-source-mappings/", body)
            .await;
        assert_eq!(status, 202, "{v}");
        v["UUID"].as_str().expect("uuid").to_string()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.lambda.close();
    }
}

/// The batches a handler saw (one list of payloads per invocation).
pub fn batches(out: &PathBuf) -> Vec<Vec<String>> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("batch line"))
        .collect()
}

/// Polls until `done` holds of the handler's batches (at most 20 s of real time: handlers are
/// real processes).
pub async fn wait_for(
    out: &PathBuf,
    what: &str,
    done: impl Fn(&[Vec<String>]) -> bool,
) -> Vec<Vec<String>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = batches(out);
        if done(&seen) {
            return seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn flat(batches: &[Vec<String>]) -> Vec<String> {
    batches.iter().flatten().cloned().collect()
}
