//! The delivery engine: one worker per delivery stream reads the stream's durable records
//! from the log, buffers them by the destination's BufferingHints, builds an object
//! (compressed, named as Firehose names it) and writes it to the object store, retrying with
//! backoff until it lands; only then is the progress recorded and the log trimmed. Delivery
//! is therefore at-least-once across crashes: records are never dropped, an object may be
//! written twice if the process dies between writing it and recording the progress.

pub(crate) mod backup;
pub mod bulk;
pub mod channel;
pub mod compress;
pub mod deaggregate;
pub mod hec;
pub mod http;
pub mod javatime;
pub mod jq;
pub mod object;
pub mod partition;
pub mod prefix;
pub mod process;
mod source;
mod worker;

use crate::errors::internal;
use crate::model::Source;
use crate::seal::SealKeys;
use crate::store::Registry;
use spate_log::RecordLog;
use spate_objects::ObjectStore;
use spate_streams::Kinesis;
use spate_wire::ApiError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use worker::Worker;

/// How long a deleted stream's worker may take to finish the step it is in before it is
/// ended.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A request to deliver what is buffered now; answered with the outcome of that attempt.
type FlushRequest = oneshot::Sender<Result<(), String>>;

/// What a stream's worker is doing, for DescribeDeliveryStream, metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Records read from the log and waiting in the buffer, and their bytes.
    pub buffered_records: usize,
    pub buffered_bytes: usize,
    /// Objects written since the worker started, and the records and bytes (before
    /// compression) in them.
    pub delivered_objects: u64,
    pub delivered_records: u64,
    pub delivered_bytes: u64,
    /// The last delivery failure, until a delivery succeeds.
    pub failure: Option<String>,
    /// KinesisStreamAsSource: the last failure reading the Kinesis stream, until a read works.
    pub source_failure: Option<String>,
}

type Statuses = Arc<Mutex<HashMap<String, DeliveryStatus>>>;

struct Handle {
    flush: mpsc::Sender<FlushRequest>,
    stop: watch::Sender<Stop>,
    task: tokio::task::JoinHandle<()>,
    /// KinesisStreamAsSource: the task copying the Kinesis stream into the log.
    pump: Option<tokio::task::JoinHandle<()>>,
}

/// How a worker is asked to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Run,
    /// The stream was deleted: end at once, delivering nothing more.
    Now,
    /// The server is shutting down: deliver what is buffered (one attempt), then end.
    Drain,
}

pub struct Deliveries {
    registry: Arc<Registry>,
    log: Arc<dyn RecordLog>,
    objects: Arc<dyn ObjectStore>,
    /// The Kinesis service, for KinesisStreamAsSource delivery streams.
    kinesis: Option<Arc<Kinesis>>,
    /// Keys to open records sealed at rest.
    seal: Arc<SealKeys>,
    workers: Mutex<HashMap<String, Handle>>,
    statuses: Statuses,
    /// Runs functions for Lambda processors (set once the server's functions exist).
    pub(crate) invoker: InvokerSlot,
    /// Reads Glue tables for record format conversion (set once the server's catalog exists).
    pub(crate) schemas: crate::convert::SchemaSlot,
}

/// Where workers find the function runner for Lambda processors.
pub type InvokerSlot = Arc<std::sync::RwLock<Option<Arc<dyn process::Invoke>>>>;

impl Deliveries {
    pub fn new(
        registry: Arc<Registry>,
        log: Arc<dyn RecordLog>,
        objects: Arc<dyn ObjectStore>,
        kinesis: Option<Arc<Kinesis>>,
        seal: Arc<SealKeys>,
    ) -> Deliveries {
        Deliveries {
            registry,
            log,
            objects,
            kinesis,
            seal,
            workers: Mutex::default(),
            statuses: Arc::default(),
            invoker: Arc::default(),
            schemas: Arc::default(),
        }
    }

    /// Starts the worker of `name` unless it runs already.
    pub fn start(&self, name: &str, log_id: u64) {
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        if workers.contains_key(name) {
            return;
        }
        let (flush_tx, flush_rx) = mpsc::channel(16);
        let (stop_tx, stop_rx) = watch::channel(Stop::Run);
        let worker = Worker::new(
            name.to_string(),
            log_id,
            self.registry.clone(),
            self.log.clone(),
            self.objects.clone(),
            self.statuses.clone(),
            (
                self.seal.clone(),
                self.invoker.clone(),
                self.schemas.clone(),
            ),
        );
        let pump = self.pump(name, log_id, stop_rx.clone());
        let task = tokio::spawn(worker.run(flush_rx, stop_rx));
        workers.insert(
            name.to_string(),
            Handle {
                flush: flush_tx,
                stop: stop_tx,
                task,
                pump,
            },
        );
    }

    /// For a KinesisStreamAsSource stream: the task copying its Kinesis stream into the log.
    fn pump(
        &self,
        name: &str,
        log_id: u64,
        stop: watch::Receiver<Stop>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let stream = self.registry.get(name).ok()?;
        let Source::KinesisStream {
            stream_arn,
            start_ms,
            ..
        } = &stream.source
        else {
            return None;
        };
        let Some(kinesis) = self.kinesis.clone() else {
            let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
            let status = statuses.entry(name.to_string()).or_default();
            status.source_failure = Some("this server has no Kinesis service to read".into());
            return None;
        };
        let pump = source::Pump {
            name: name.to_string(),
            log_id,
            stream: stream_name(stream_arn),
            start_ms: *start_ms,
            kinesis,
            registry: self.registry.clone(),
            log: self.log.clone(),
            statuses: self.statuses.clone(),
        };
        Some(tokio::spawn(pump.run(stop)))
    }

    /// Ends the worker of a deleted stream without delivering more.
    pub async fn stop(&self, name: &str) {
        let handle = self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let Some(mut handle) = handle {
            let _ = handle.stop.send(Stop::Now);
            // A worker in the middle of a delivery (an endpoint that does not answer, Splunk
            // acknowledgements that do not come) is not waited for past the grace: the
            // stream is gone, so is what it was delivering.
            if tokio::time::timeout(STOP_GRACE, &mut handle.task)
                .await
                .is_err()
            {
                handle.task.abort();
            }
            if let Some(pump) = handle.pump {
                let _ = pump.await;
            }
        }
        self.statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// Delivers what `name` has buffered now and answers with the outcome.
    pub async fn flush(&self, name: &str) -> Result<(), ApiError> {
        let sender = {
            let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            workers.get(name).map(|h| h.flush.clone())
        };
        let sender = sender.ok_or_else(|| crate::errors::not_found(&self.registry.config, name))?;
        let (tx, rx) = oneshot::channel();
        sender
            .send(tx)
            .await
            .map_err(|_| internal("the delivery worker has stopped"))?;
        rx.await
            .map_err(|_| internal("the delivery worker has stopped"))?
            .map_err(|e| internal(format!("Delivery failed: {e}")))
    }

    /// What `name`'s worker is doing.
    pub fn status(&self, name: &str) -> DeliveryStatus {
        let statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses.get(name).cloned().unwrap_or_default()
    }

    /// At shutdown: every worker delivers what it holds (one attempt each), for at most
    /// `grace`; what is not delivered stays in the log for the next start.
    pub async fn drain(&self, grace: Duration) {
        let handles: Vec<Handle> = {
            let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
            workers.drain().map(|(_, h)| h).collect()
        };
        for handle in &handles {
            let _ = handle.stop.send(Stop::Drain);
        }
        let tasks = handles
            .into_iter()
            .flat_map(|h| std::iter::once(h.task).chain(h.pump));
        let all = futures_join(tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("Firehose delivery did not finish within {grace:?}; the rest is delivered after the next start");
        }
    }
}

async fn futures_join(tasks: impl Iterator<Item = tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// The stream name of a Kinesis stream ARN (`…:stream/NAME`).
pub fn stream_name(arn: &str) -> String {
    arn.rsplit_once(":stream/")
        .map_or(arn, |(_, name)| name)
        .to_string()
}
