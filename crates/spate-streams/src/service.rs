//! The Kinesis Data Streams service: its components, started over one log and one catalog.
//!
//! Each component owns its state and its locks; they share the stream registry
//! ([`StreamStore`]). The wire edge (`api`) validates each request into domain values and calls
//! exactly one component.

use crate::config::ServiceConfig;
use crate::consumers::Consumers;
use crate::encryption::Keyring;
use crate::errors::log_error;
use crate::records::Records;
use crate::reshard::Resharding;
use crate::settings::Settings;
use crate::store::StreamStore;
use crate::streams::Streams;
use crate::traffic::Traffic;
use spate_catalog::Catalog;
use spate_log::{Clock, RecordLog};
use spate_wire::ApiError;
use std::collections::HashSet;
use std::sync::Arc;

pub struct Kinesis {
    pub(crate) store: Arc<StreamStore>,
    pub streams: Arc<Streams>,
    pub records: Arc<Records>,
    pub resharding: Arc<Resharding>,
    pub consumers: Arc<Consumers>,
    pub settings: Arc<Settings>,
    log: Arc<dyn RecordLog>,
    keyring: Arc<Keyring>,
}

impl Kinesis {
    /// Registers another service's resources on streams (they count as consumers and keep a
    /// stream from being deleted).
    pub fn add_stream_dependents(&self, dependents: Arc<dyn crate::store::StreamDependents>) {
        self.store.add_dependents(dependents);
    }

    /// The stream's ARN and creation time (which tells one stream of a name from a later one),
    /// if it exists and is ON_DEMAND or not (`bool`).
    pub fn stream_identity(&self, name: &str) -> Result<(String, i64, bool), ApiError> {
        let parsed = crate::model::StreamName::parse(name)
            .ok_or_else(|| crate::errors::not_found(&self.store.config, name))?;
        let stream = self.store.get(&parsed)?;
        let on_demand = stream.record.mode == spate_catalog::StreamMode::OnDemand;
        Ok((stream.arn.clone(), stream.record.created_ms, on_demand))
    }

    /// Loads the catalog, makes sure every shard exists in the log, removes log shards no
    /// stream refers to, loads encryption keys, and applies what was due while it was down.
    pub async fn open(
        config: ServiceConfig,
        log: Arc<dyn RecordLog>,
        catalog: Arc<dyn Catalog>,
        clock: Clock,
        keyring: Keyring,
    ) -> Result<Arc<Kinesis>, ApiError> {
        let traffic = Arc::new(Traffic::new(
            config.shard_limits,
            config.enforce_shard_limits,
            config.rate_window_ms,
        ));
        let store = Arc::new(StreamStore::load(config, catalog, clock).await?);
        let keyring = Arc::new(keyring);
        let records = Arc::new(Records {
            store: store.clone(),
            log: log.clone(),
            traffic: traffic.clone(),
            keyring: keyring.clone(),
        });
        let kinesis = Arc::new(Kinesis {
            streams: Arc::new(Streams::new(store.clone(), log.clone(), keyring.clone())),
            resharding: Arc::new(Resharding {
                store: store.clone(),
                log: log.clone(),
                traffic,
            }),
            consumers: Arc::new(Consumers {
                store: store.clone(),
                records: records.clone(),
                subscriptions: Default::default(),
            }),
            settings: Arc::new(Settings::new(store.clone(), keyring.clone())),
            records,
            store,
            log,
            keyring,
        });
        kinesis.attach_log_shards().await?;
        kinesis.load_keys().await?;
        kinesis.tick().await;
        Ok(kinesis)
    }

    /// Every shard of every stream exists in the log; log shards no stream refers to (a crash
    /// between a stream's deletion from the catalog and of its records, or between creating
    /// shards and committing a new stream, leaves them behind) are deleted.
    async fn attach_log_shards(&self) -> Result<(), ApiError> {
        let referenced: HashSet<u64> = self
            .store
            .all_streams()
            .iter()
            .flat_map(|s| s.record.shards.iter().map(|shard| shard.log_id))
            .collect();
        spate_log::reconcile_shards(&*self.log, &referenced, "stream")
            .await
            .map_err(log_error)
    }

    /// At start-up: unwrap every stored data key, and give each encrypted stream a fresh sealing
    /// key (a key's nonce counter only lives as long as the process).
    async fn load_keys(&self) -> Result<(), ApiError> {
        for stream in self.store.all_streams() {
            self.keyring.load(&stream.record)?;
            if stream.record.sealing_key_version.is_some() {
                let mut record = stream.record.clone();
                self.keyring.rotate(&mut record)?;
                match self.store.save(record).await {
                    // Read-only: reads open every stored key; nothing new is sealed.
                    Err(e) if e.message.contains("read-only") => {}
                    other => {
                        other?;
                    }
                }
            }
        }
        Ok(())
    }

    /// What is due by the clock: pending reshards whose UPDATING window ended, deletions whose
    /// DELETING window ended. Timers make these prompt; this makes them certain (and lets tests
    /// with an injected clock drive them without sleeping).
    pub async fn tick(&self) {
        self.resharding.apply_due().await;
        self.streams.finish_due_deletions().await;
    }

    /// Periodic upkeep: [`tick`](Self::tick), then closed shards past retention and segments
    /// past each stream's retention.
    pub async fn maintain(&self) {
        self.tick().await;
        self.resharding.expire_closed_shards().await;
        let now = self.store.now();
        for stream in self.store.streams() {
            for shard in &stream.record.shards {
                if let Err(e) = self
                    .log
                    .trim(shard.log_id, now - stream.retention_ms())
                    .await
                {
                    tracing::warn!(
                        "retention of {} shard {}: {e}",
                        stream.record.name,
                        shard.index
                    );
                }
            }
        }
    }

    /// One pass of the ON_DEMAND scaler.
    pub async fn autoscale(&self) {
        self.resharding.autoscale().await;
    }

    /// Ends every SubscribeToShard stream normally (at shutdown).
    pub fn close_subscriptions(&self) {
        self.consumers.subscriptions.close_all();
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.store.config
    }

    /// The keyring (master key and data keys), which other services on the server share.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring.clone()
    }

    /// The log, for push delivery and tools.
    pub fn record_log(&self) -> Arc<dyn RecordLog> {
        self.log.clone()
    }
}
