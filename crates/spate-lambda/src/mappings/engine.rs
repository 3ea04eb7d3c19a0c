//! The mapping engine: one task per enabled mapping, restarted when its record changes and
//! stopped when it is disabled or deleted. A mapping's task runs a reader per readable shard
//! (parents before children) and starts children as parents finish or the stream reshards.

use super::shard::{Ended, MappingRun};
use crate::functions::Functions;
use crate::model::{MappingProgress, MappingRecord};
use crate::store::Registry;
use serde_json::Value;
use spate_log::Clock;
use spate_objects::ObjectStore;
use spate_streams::reader::readable;
use spate_streams::Kinesis;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long a mapping's task waits when nothing wakes it.
const IDLE_WAIT: Duration = Duration::from_secs(1);

struct Running {
    modified_ms: i64,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub struct Engine {
    registry: Arc<Registry>,
    functions: Arc<Functions>,
    kinesis: Arc<Kinesis>,
    objects: Option<Arc<dyn ObjectStore>>,
    clock: Clock,
    running: Mutex<HashMap<String, Running>>,
    /// LastProcessingResult per mapping.
    results: Arc<Mutex<HashMap<String, String>>>,
}

impl Engine {
    pub fn new(
        registry: Arc<Registry>,
        functions: Arc<Functions>,
        kinesis: Arc<Kinesis>,
        objects: Option<Arc<dyn ObjectStore>>,
        clock: Clock,
    ) -> Engine {
        Engine {
            registry,
            functions,
            kinesis,
            objects,
            clock,
            running: Mutex::new(HashMap::new()),
            results: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn last_result(&self, uuid: &str) -> String {
        let results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results
            .get(uuid)
            .cloned()
            .unwrap_or_else(|| "No records processed".into())
    }

    /// Follows the registry: reconciles the running mappings at every change.
    pub fn spawn(self: &Arc<Self>) -> JoinHandle<()> {
        let engine = self.clone();
        let mut changes = self.registry.subscribe();
        tokio::spawn(async move {
            loop {
                engine.reconcile();
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    /// Starts enabled mappings that are not running (or changed), stops the others.
    pub fn reconcile(&self) {
        let wanted: HashMap<String, Arc<MappingRecord>> = self
            .registry
            .mappings()
            .into_iter()
            .filter(|m| m.enabled)
            .map(|m| (m.uuid.clone(), m))
            .collect();
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|uuid, r| {
            let keep = wanted
                .get(uuid)
                .is_some_and(|m| m.last_modified_ms == r.modified_ms && !r.task.is_finished());
            if !keep {
                let _ = r.stop.send(true);
            }
            keep
        });
        for (uuid, mapping) in wanted {
            if running.contains_key(&uuid) {
                continue;
            }
            let (stop, stopped) = watch::channel(false);
            let run = self.run_for(mapping.clone());
            let task = tokio::spawn(run_mapping(run, stopped));
            running.insert(
                uuid,
                Running {
                    modified_ms: mapping.last_modified_ms,
                    stop,
                    task,
                },
            );
        }
    }

    /// Stops every mapping (server shutdown).
    pub fn stop_all(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for (_, r) in running.drain() {
            let _ = r.stop.send(true);
        }
    }

    fn run_for(&self, mapping: Arc<MappingRecord>) -> Arc<MappingRun> {
        let config = &self.functions.config;
        let filters = mapping
            .filters
            .iter()
            .filter_map(|p| serde_json::from_str::<Value>(p).ok())
            .collect();
        let role_arn = self
            .registry
            .function(&mapping.function)
            .map(|f| f.role.clone())
            .unwrap_or_default();
        Arc::new(MappingRun {
            stream_arn: format!(
                "arn:aws:kinesis:{}:{}:stream/{}",
                config.region, config.account_id, mapping.stream
            ),
            function_arn: self.functions.arn(&mapping.function),
            role_arn,
            region: config.region.clone(),
            filters,
            functions: self.functions.clone(),
            kinesis: self.kinesis.clone(),
            objects: self.objects.clone(),
            registry: self.registry.clone(),
            progress: tokio::sync::Mutex::new(MappingProgress::default()),
            clock: self.clock.clone(),
            results: self.results.clone(),
            windows: Mutex::new(HashMap::new()),
            mapping,
        })
    }
}

/// A mapping's task: keeps a reader running for every readable shard until stopped.
async fn run_mapping(run: Arc<MappingRun>, mut stop: watch::Receiver<bool>) {
    let uuid = run.mapping.uuid.clone();
    match run.registry.progress(&uuid) {
        Ok(saved) => {
            let saved = saved.unwrap_or_default();
            run.windows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(saved.windows.clone());
            *run.progress.lock().await = saved;
        }
        Err(e) => return tracing::error!("mapping {uuid}: reading its progress: {e}"),
    }
    let mut changes = run.kinesis.source_changes();
    let mut readers: JoinSet<(u32, Ended)> = JoinSet::new();
    let mut reading: HashSet<u32> = HashSet::new();
    loop {
        if *stop.borrow() {
            return;
        }
        match run.kinesis.source_shards(&run.mapping.stream) {
            Ok((created_ms, shards)) => {
                let mut progress = run.progress.lock().await;
                if progress.stream_created_ms != created_ms {
                    // First read, or the stream was deleted and created again.
                    readers.abort_all();
                    reading.clear();
                    *progress = MappingProgress {
                        stream_created_ms: created_ms,
                        ..MappingProgress::default()
                    };
                }
                let startable: Vec<_> = readable(&shards, &progress.done)
                    .filter(|s| !reading.contains(&s.index))
                    .cloned()
                    .collect();
                drop(progress);
                for shard in startable {
                    reading.insert(shard.index);
                    let (run, stop) = (run.clone(), stop.clone());
                    readers.spawn(async move {
                        let index = shard.index;
                        (index, run.read_shard(shard, stop).await)
                    });
                }
            }
            Err(e) => {
                let mut results = run.results.lock().unwrap_or_else(|e| e.into_inner());
                results.insert(uuid.clone(), format!("PROBLEM: {}", e.message));
            }
        }
        tokio::select! {
            _ = changes.changed() => {}
            Some(Ok((index, _))) = readers.join_next(), if !readers.is_empty() => {
                reading.remove(&index);
            }
            _ = stop.changed() => {}
            _ = tokio::time::sleep(IDLE_WAIT) => {}
        }
    }
}
