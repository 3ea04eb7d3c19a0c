//! The Firehose service: the registry of delivery streams, the put path into the log, and the
//! delivery engine, opened over a record log, a catalog and an object store.

use crate::config::FirehoseConfig;
use crate::delivery::Deliveries;
use crate::errors::{internal, log_error};
use crate::limits::{Limits, Quotas};
use crate::seal::SealKeys;
use crate::store::Registry;
use spate_catalog::{Catalog, Lifecycle};
use spate_log::{Clock, LogError, RecordLog};
use spate_objects::ObjectStore;
use spate_streams::Kinesis;
use spate_wire::ApiError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub struct Firehose {
    pub(crate) registry: Arc<Registry>,
    pub(crate) log: Arc<dyn RecordLog>,
    pub(crate) deliveries: Deliveries,
    objects: Arc<dyn ObjectStore>,
    /// The Kinesis service on the same server: KinesisStreamAsSource streams read from it.
    pub(crate) kinesis: Option<Arc<Kinesis>>,
    /// Direct PUT quotas per delivery stream (enforced with `enforce_limits`).
    pub(crate) limits: Limits,
    /// Data keys of streams with encryption at rest.
    pub(crate) seal: Arc<SealKeys>,
}

impl Firehose {
    /// Loads the delivery streams, reconciles the log with them (a crash may have left the
    /// shard of a deleted stream behind) and starts a delivery worker per stream.
    pub async fn open(
        config: FirehoseConfig,
        log: Arc<dyn RecordLog>,
        catalog: Arc<dyn Catalog>,
        objects: Arc<dyn ObjectStore>,
        kinesis: Option<Arc<Kinesis>>,
        clock: Clock,
    ) -> Result<Arc<Firehose>, ApiError> {
        let seal = Arc::new(SealKeys::new(kinesis.as_ref().map(|k| k.keyring())));
        let registry = tokio::task::spawn_blocking(move || Registry::load(config, catalog, clock))
            .await
            .map_err(|e| internal(format!("loading delivery streams: {e}")))??;
        let registry = Arc::new(registry);
        let deliveries = Deliveries::new(
            registry.clone(),
            log.clone(),
            objects.clone(),
            kinesis.clone(),
            seal.clone(),
        );
        let limits = Limits::new(registry.config.enforce_limits.then(Quotas::default));
        let firehose = Arc::new(Firehose {
            registry,
            log,
            deliveries,
            objects,
            kinesis,
            limits,
            seal,
        });
        if let Some(kinesis) = &firehose.kinesis {
            kinesis.add_stream_dependents(crate::channels::dependents(&firehose));
        }
        firehose.load_keys().await?;
        firehose.attach_log_shards().await?;
        for stream in firehose.registry.all() {
            firehose.deliveries.start(&stream.name, stream.log_id);
        }
        firehose.tick().await;
        Ok(firehose)
    }

    /// At start-up: unwrap every stored data key, and give each encrypted stream a fresh
    /// sealing key (a key's nonce counter lasts as long as the process).
    async fn load_keys(&self) -> Result<(), ApiError> {
        for stream in self.registry.all() {
            self.seal.load(&stream)?;
            if stream.sse.as_ref().is_some_and(|s| s.enabled) {
                let mut record = (*stream).clone();
                self.seal.rotate(&mut record)?;
                match self.registry.save(record).await {
                    // Read-only: the stored keys open every record; nothing new is sealed.
                    Err(e) if e.message.contains("read-only") => {}
                    other => other?,
                }
            }
        }
        Ok(())
    }

    async fn attach_log_shards(&self) -> Result<(), ApiError> {
        let referenced: HashSet<u64> = self.registry.all().iter().map(|s| s.log_id).collect();
        spate_log::reconcile_shards(&*self.log, &referenced, "delivery stream")
            .await
            .map_err(log_error)
    }

    /// What the clock makes due: delivery streams whose DELETING window ended are removed.
    pub async fn tick(&self) {
        let now = self.registry.now();
        for stream in self.registry.all() {
            if let Lifecycle::Deleting { until_ms } = stream.lifecycle {
                if now >= until_ms {
                    if let Err(e) = self.finish_delete(&stream.name, stream.log_id).await {
                        tracing::warn!("deleting delivery stream {}: {e}", stream.name);
                    }
                }
            }
        }
    }

    pub(crate) async fn finish_delete(&self, name: &str, log_id: u64) -> Result<(), ApiError> {
        let _guard = self.registry.control.lock().await;
        self.deliveries.stop(name).await;
        self.limits.forget(name);
        self.registry.remove(name).await?;
        match self.log.delete_shard(log_id).await {
            Ok(()) | Err(LogError::ReadOnly) => Ok(()),
            Err(e) => Err(internal(format!("removing the stream's records: {e}"))),
        }
    }

    /// At shutdown: deliver what is buffered, for at most `grace`.
    pub async fn drain(&self, grace: Duration) {
        self.deliveries.drain(grace).await;
    }

    /// Delivers what `name` has buffered now (Spate's own operation, for tests and tools).
    pub async fn flush(&self, name: &str) -> Result<(), ApiError> {
        self.registry.get(name)?;
        self.deliveries.flush(name).await
    }

    /// Lets Lambda processors run the server's functions.
    /// Where record format conversion reads Glue tables from.
    pub fn set_table_schemas(&self, schemas: Arc<dyn crate::convert::TableSchemas>) {
        let mut slot = self
            .deliveries
            .schemas
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *slot = Some(schemas);
    }

    pub fn set_invoker(&self, invoker: Arc<dyn crate::delivery::process::Invoke>) {
        let mut slot = self
            .deliveries
            .invoker
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *slot = Some(invoker);
    }

    pub fn config(&self) -> &FirehoseConfig {
        &self.registry.config
    }

    /// Where objects go.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.objects.clone()
    }
}
