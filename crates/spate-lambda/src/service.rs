//! The Lambda service: functions, mappings and the engine running them, opened over the
//! catalog, the Kinesis service on the same server and (for S3 code and destinations) the
//! object store.

use crate::config::LambdaConfig;
use crate::errors::{service, LambdaError};
use crate::functions::Functions;
use crate::mappings::engine::Engine;
use crate::mappings::Mappings;
use crate::store::Registry;
use spate_catalog::Catalog;
use spate_log::Clock;
use spate_objects::ObjectStore;
use spate_streams::Kinesis;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub struct Lambda {
    pub functions: Arc<Functions>,
    pub mappings: Mappings,
    pub engine: Arc<Engine>,
    pub(crate) kinesis: Arc<Kinesis>,
    follower: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Lambda {
    /// Loads functions and mappings and starts the enabled mappings.
    pub async fn open(
        config: LambdaConfig,
        catalog: Arc<dyn Catalog>,
        kinesis: Arc<Kinesis>,
        objects: Option<Arc<dyn ObjectStore>>,
        clock: Clock,
    ) -> Result<Arc<Lambda>, LambdaError> {
        let registry = tokio::task::spawn_blocking(move || Registry::load(catalog))
            .await
            .map_err(|e| service(e.to_string()))??;
        let registry = Arc::new(registry);
        let (region, account) = (config.region.clone(), config.account_id.clone());
        let functions = Arc::new(Functions::new(
            registry.clone(),
            config,
            objects.clone(),
            clock.clone(),
        )?);
        let mappings = Mappings::new(registry.clone(), clock.clone(), region, account);
        let engine = Arc::new(Engine::new(
            registry,
            functions.clone(),
            kinesis.clone(),
            objects,
            clock,
        ));
        let follower = engine.spawn();
        Ok(Arc::new(Lambda {
            functions,
            mappings,
            engine,
            kinesis,
            follower: std::sync::Mutex::new(Some(follower)),
        }))
    }

    /// Stops every mapping (the server is shutting down).
    pub fn close(&self) {
        if let Some(task) = self
            .follower
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
        self.engine.stop_all();
    }
}
