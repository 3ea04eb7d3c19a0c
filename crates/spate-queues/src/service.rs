//! Kinesis Queues: the registry of queues (catalog documents, one per queue), their journals in
//! a record log of their own, and the control plane (create, update, delete, describe, list).

use crate::errors::{internal, limit_exceeded, not_found, validation};
use crate::journal::{self, Snapshot};
use crate::model::{
    Lifecycle, QueueRecord, QueueStream, StartingPosition, DEFAULT_MAX_RECEIVES,
    DEFAULT_VISIBILITY_SECS, FORMAT_VERSION,
};
use crate::queue::{AllocateJournal, Queue};
use crate::state::{DeliveryState, ShardAcks};
use spate_catalog::{Catalog, DocumentKind};
use spate_log::{Clock, RecordLog};
use spate_streams::{ApiError, Kinesis, StreamDependents};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

const QUEUES: DocumentKind = DocumentKind("queues:queues");
const META: DocumentKind = DocumentKind("queues:meta");
const NEXT_LOG_ID: &str = "next_log_id";

#[derive(Debug, Clone)]
pub struct QueuesConfig {
    pub region: String,
    pub account_id: String,
    pub creating_delay_ms: u64,
    pub updating_delay_ms: u64,
    pub deleting_delay_ms: u64,
    /// Registered consumers a stream may have (queues and EFO consumers together).
    pub consumer_limit: usize,
    /// Journal changes after which a queue's state is compacted into a snapshot.
    pub compact_after_changes: u64,
}

impl QueuesConfig {
    pub fn new(region: &str, account_id: &str) -> QueuesConfig {
        QueuesConfig {
            region: region.into(),
            account_id: account_id.into(),
            creating_delay_ms: 0,
            updating_delay_ms: 0,
            deleting_delay_ms: 0,
            consumer_limit: 20,
            compact_after_changes: journal::COMPACT_AFTER_CHANGES,
        }
    }
}

/// A new queue's settings, validated at the edge.
pub struct NewQueue {
    pub name: String,
    pub streams: Vec<(String, StartingPosition)>,
    pub visibility_secs: Option<u32>,
    /// `Some(None)`: dead-letter handling off.
    pub max_receives: Option<Option<u32>>,
    pub tags: BTreeMap<String, String>,
}

pub struct Queues {
    pub config: QueuesConfig,
    kinesis: Arc<Kinesis>,
    log: Arc<dyn RecordLog>,
    catalog: Arc<dyn Catalog>,
    clock: Clock,
    queues: RwLock<BTreeMap<String, Arc<Queue>>>,
    control: tokio::sync::Mutex<()>,
    next_log_id: Arc<Mutex<u64>>,
}

/// Queues count as registered consumers of their streams and keep them from being deleted.
struct Dependents(std::sync::Weak<Queues>);

impl StreamDependents for Dependents {
    fn count_on(&self, stream_arn: &str) -> usize {
        self.0.upgrade().map_or(0, |q| q.count_on(stream_arn))
    }
    fn noun(&self) -> &'static str {
        "queues"
    }
}

impl Queues {
    /// Loads every queue (snapshot + journal replay) and removes journal shards no queue uses.
    pub async fn open(
        config: QueuesConfig,
        kinesis: Arc<Kinesis>,
        log: Arc<dyn RecordLog>,
        catalog: Arc<dyn Catalog>,
        clock: Clock,
    ) -> Result<Arc<Queues>, ApiError> {
        let (records, next) = {
            let catalog = catalog.clone();
            tokio::task::spawn_blocking(move || load_records(&*catalog))
                .await
                .map_err(|e| internal(e.to_string()))??
        };
        let queues = Arc::new(Queues {
            config,
            kinesis: kinesis.clone(),
            log,
            catalog,
            clock,
            queues: RwLock::new(BTreeMap::new()),
            control: tokio::sync::Mutex::new(()),
            next_log_id: Arc::new(Mutex::new(next)),
        });
        let mut referenced = HashSet::new();
        for record in records {
            let queue = queues.load_queue(record).await?;
            referenced.insert(queue.journal_shard().await);
            let name = queue.record().name.clone();
            queues.write().insert(name, queue);
        }
        spate_log::reconcile_shards(&*queues.log, &referenced, "queue journal")
            .await
            .map_err(|e| internal(e.to_string()))?;
        kinesis.add_stream_dependents(Arc::new(Dependents(Arc::downgrade(&queues))));
        Ok(queues)
    }

    async fn load_queue(&self, record: QueueRecord) -> Result<Arc<Queue>, ApiError> {
        let (catalog, log) = (self.catalog.clone(), self.log.clone());
        let (name, journal) = (record.name.clone(), record.journal);
        let loaded = tokio::task::spawn_blocking(move || {
            let docs = catalog
                .documents(journal::SNAPSHOTS)
                .map_err(|e| e.to_string())?;
            let shard = docs
                .iter()
                .find(|(k, _)| *k == name)
                .and_then(|(_, b)| serde_json::from_slice::<Snapshot>(b).ok())
                .map_or(journal, |s| s.journal);
            let (state, changes) = journal::load(&*catalog, &*log, &name, journal)?;
            Ok::<_, String>((state, changes, shard))
        })
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(internal)?;
        let (state, changes, shard) = loaded;
        Ok(Arc::new(self.queue(record, state, shard, changes)))
    }

    fn queue(
        &self,
        record: QueueRecord,
        state: DeliveryState,
        journal: u64,
        changes: u64,
    ) -> Queue {
        Queue::new(
            record,
            state,
            journal,
            (changes, self.config.compact_after_changes),
            self.log.clone(),
            self.catalog.clone(),
            self.kinesis.clone(),
            self.clock.clone(),
            self.allocator(),
        )
    }

    /// Hands out journal shard ids, persisted before use.
    fn allocator(&self) -> AllocateJournal {
        let (next, catalog) = (self.next_log_id.clone(), self.catalog.clone());
        Arc::new(move || {
            let (next, catalog) = (next.clone(), catalog.clone());
            Box::pin(async move {
                let id = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    *n += 1;
                    *n - 1
                };
                let bytes = serde_json::to_vec(&(id + 1)).map_err(|e| e.to_string())?;
                tokio::task::spawn_blocking(move || {
                    catalog.put_document(META, NEXT_LOG_ID, &bytes)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                Ok(id)
            })
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Queue>>> {
        self.queues.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Queue>>> {
        self.queues.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:queue/{name}",
            self.config.region, self.config.account_id
        )
    }

    fn count_on(&self, stream_arn: &str) -> usize {
        self.read()
            .values()
            .filter(|q| q.record().streams.iter().any(|s| s.arn == stream_arn))
            .count()
    }

    /// The queue an ARN names (finishing deletions that are due first).
    pub async fn get(&self, arn: &str) -> Result<Arc<Queue>, ApiError> {
        self.reap().await;
        let name = arn
            .strip_prefix(&self.arn(""))
            .ok_or_else(|| self.missing(arn))?;
        self.read()
            .get(name)
            .cloned()
            .ok_or_else(|| self.missing(arn))
    }

    fn missing(&self, arn: &str) -> ApiError {
        not_found(format!(
            "Queue {arn} under account {} not found.",
            self.config.account_id
        ))
    }

    pub async fn list(&self) -> Vec<Arc<Queue>> {
        self.reap().await;
        self.read().values().cloned().collect()
    }

    /// Removes queues whose DELETING window has ended.
    async fn reap(&self) {
        let now = self.now();
        let due: Vec<Arc<Queue>> = self
            .read()
            .values()
            .filter(|q| matches!(q.record().lifecycle, Lifecycle::Deleting { until_ms } if now >= until_ms))
            .cloned()
            .collect();
        for queue in due {
            if let Err(e) = self.remove(&queue).await {
                tracing::warn!("removing queue {}: {}", queue.record().name, e.message);
            }
        }
    }

    async fn remove(&self, queue: &Arc<Queue>) -> Result<(), ApiError> {
        let name = queue.record().name.clone();
        let catalog = self.catalog.clone();
        let key = name.clone();
        tokio::task::spawn_blocking(move || {
            catalog.delete_document(journal::SNAPSHOTS, &key)?;
            catalog.delete_document(QUEUES, &key)
        })
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))?;
        self.write().remove(&name);
        let journal = queue.journal_shard().await;
        self.log
            .delete_shard(journal)
            .await
            .map_err(|e| internal(e.to_string()))
    }

    pub async fn create(&self, new: NewQueue) -> Result<Arc<Queue>, ApiError> {
        let _control = self.control.lock().await;
        self.reap().await;
        if self.read().contains_key(&new.name) {
            return Err(crate::errors::in_use(format!(
                "Queue {} under account {} already exists.",
                new.name, self.config.account_id
            )));
        }
        let now = self.now();
        let mut streams = Vec::new();
        let mut acks = Vec::new();
        for (i, (name, starting)) in new.streams.iter().enumerate() {
            let stream = self.configure_stream(name, *starting)?;
            acks.extend(stream.starts.iter().map(|(&shard, &low)| {
                (
                    (i as u16, shard),
                    ShardAcks {
                        low,
                        ..Default::default()
                    },
                )
            }));
            streams.push(stream);
        }
        let journal = (self.allocator())().await.map_err(internal)?;
        self.log
            .create_shard(journal)
            .await
            .map_err(|e| internal(e.to_string()))?;
        let delay = self.config.creating_delay_ms as i64;
        let record = QueueRecord {
            format: FORMAT_VERSION,
            arn: self.arn(&new.name),
            name: new.name,
            created_ms: now,
            streams,
            visibility_secs: new.visibility_secs.unwrap_or(DEFAULT_VISIBILITY_SECS),
            max_receives: new.max_receives.unwrap_or(Some(DEFAULT_MAX_RECEIVES)),
            lifecycle: if delay == 0 {
                Lifecycle::Active
            } else {
                Lifecycle::Creating {
                    until_ms: now + delay,
                }
            },
            tags: new.tags,
            journal,
        };
        let snapshot = Snapshot {
            journal,
            acks,
            entries: Vec::new(),
        };
        self.save(&record, Some(snapshot)).await?;
        // The state starts from the snapshot just written (the shards' starting positions).
        let queue = self.load_queue(record).await?;
        self.write()
            .insert(queue.record().name.clone(), queue.clone());
        Ok(queue)
    }

    /// A stream of a new queue: it must exist and be ON_DEMAND, with room for one more
    /// registered consumer; the starting position of each of its shards is fixed now.
    fn configure_stream(
        &self,
        name: &str,
        starting: StartingPosition,
    ) -> Result<QueueStream, ApiError> {
        let (arn, created_ms, on_demand) = self.kinesis.stream_identity(name)?;
        if !on_demand {
            return Err(validation(
                "Queues are supported only on data streams in on-demand capacity mode.",
            ));
        }
        let consumers = self.kinesis.consumer_count(name).unwrap_or(0) + self.count_on(&arn);
        if consumers >= self.config.consumer_limit {
            return Err(limit_exceeded(format!(
                "Stream {name} under account {} already has {} registered consumers, the most a stream can have.",
                self.config.account_id, self.config.consumer_limit
            )));
        }
        let (_, shards) = self.kinesis.source_shards(name)?;
        let mut starts = BTreeMap::new();
        for shard in &shards {
            let start = match starting {
                StartingPosition::TrimHorizon => 0,
                StartingPosition::Latest => self.kinesis.source_tail(name, shard.index)?,
                StartingPosition::AtTimestamp(t) => {
                    self.kinesis.source_seek(name, shard.index, t)?
                }
            };
            starts.insert(shard.index, start);
        }
        Ok(QueueStream {
            arn,
            name: name.to_string(),
            created_ms,
            starting,
            starts,
        })
    }

    /// Persists a queue's record (and a snapshot) in one transaction.
    async fn save(&self, record: &QueueRecord, snapshot: Option<Snapshot>) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(record).map_err(|e| internal(e.to_string()))?;
        let snapshot = match snapshot {
            Some(s) => Some(serde_json::to_vec(&s).map_err(|e| internal(e.to_string()))?),
            None => None,
        };
        let (catalog, name) = (self.catalog.clone(), record.name.clone());
        tokio::task::spawn_blocking(move || {
            if let Some(s) = snapshot {
                catalog.put_document(journal::SNAPSHOTS, &name, &s)?;
            }
            catalog.put_document(QUEUES, &name, &bytes)
        })
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))
    }

    /// Changes visibility and dead-letter settings: UPDATING for the configured delay.
    pub async fn update(
        &self,
        arn: &str,
        visibility_secs: Option<u32>,
        max_receives: Option<Option<u32>>,
    ) -> Result<Arc<Queue>, ApiError> {
        let _control = self.control.lock().await;
        let queue = self.get(arn).await?;
        let mut record = (*queue.record()).clone();
        let now = self.now();
        if record.status(now) != "ACTIVE" {
            return Err(crate::errors::in_use(format!(
                "Queue {arn} is {}: it can be updated when it is ACTIVE.",
                record.status(now)
            )));
        }
        if let Some(v) = visibility_secs {
            record.visibility_secs = v;
        }
        if let Some(m) = max_receives {
            record.max_receives = m;
        }
        let delay = self.config.updating_delay_ms as i64;
        if delay > 0 {
            record.lifecycle = Lifecycle::Updating {
                until_ms: now + delay,
            };
        }
        self.save(&record, None).await?;
        *queue.record.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(record);
        Ok(queue)
    }

    /// Starts deleting a queue: DELETING for the configured delay, then gone with its state.
    pub async fn delete(&self, arn: &str) -> Result<(), ApiError> {
        let _control = self.control.lock().await;
        let queue = self.get(arn).await?;
        let mut record = (*queue.record()).clone();
        if matches!(record.lifecycle, Lifecycle::Deleting { .. }) {
            return Ok(());
        }
        let delay = self.config.deleting_delay_ms as i64;
        if delay == 0 {
            return self.remove(&queue).await;
        }
        record.lifecycle = Lifecycle::Deleting {
            until_ms: self.now() + delay,
        };
        self.save(&record, None).await?;
        *queue.record.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(record);
        Ok(())
    }
}

fn load_records(catalog: &dyn Catalog) -> Result<(Vec<QueueRecord>, u64), ApiError> {
    let mut records = Vec::new();
    for (key, bytes) in catalog
        .documents(QUEUES)
        .map_err(|e| internal(e.to_string()))?
    {
        let record: QueueRecord = serde_json::from_slice(&bytes)
            .map_err(|e| internal(format!("the catalog's queue {key} cannot be read: {e}")))?;
        if record.format > FORMAT_VERSION {
            return Err(internal(format!(
                "queue {key} was written by a newer version of Spate"
            )));
        }
        records.push(record);
    }
    let mut next = 0;
    for (key, bytes) in catalog
        .documents(META)
        .map_err(|e| internal(e.to_string()))?
    {
        if key == NEXT_LOG_ID {
            next = serde_json::from_slice(&bytes).map_err(|e| internal(e.to_string()))?;
        }
    }
    Ok((records, next))
}
