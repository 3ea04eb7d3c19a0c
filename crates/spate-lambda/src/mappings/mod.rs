//! Event source mappings: Kinesis streams read on the function's behalf, batches invoked with
//! Lambda's retry semantics, progress checkpointed durably.
//!
//! * this module: the mappings as domain values (create, update, delete, list);
//! * [`engine`]: one poller per enabled mapping, restarted when its record changes;
//! * [`shard`]: one reader per shard (parents before children), batching and checkpoints;
//! * [`batch`]: the Kinesis event, function results, retries, bisection, partial failures;
//! * [`failure`]: invocation records of discarded batches, to S3 or a Kinesis stream;
//! * [`filter`]: Lambda's event filter patterns;
//! * [`window`]: tumbling windows and the state carried between their invocations.

pub mod batch;
pub mod engine;
pub mod failure;
pub mod filter;
pub mod lanes;
pub mod shard;
pub mod window;

use crate::errors::{invalid, not_found, LambdaError};
use crate::ids;
use crate::model::{FailureDestination, FunctionName, MappingRecord, StartingPosition};
use crate::store::Registry;
use spate_log::Clock;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A new mapping, validated at the edge.
#[derive(Debug, Clone)]
pub struct MappingSpec {
    pub function: FunctionName,
    pub event_source_arn: String,
    pub stream: String,
    pub enabled: bool,
    pub batch_size: u32,
    pub batching_window_secs: u32,
    pub parallelization_factor: u32,
    pub starting_position: StartingPosition,
    pub maximum_record_age_secs: i32,
    pub bisect_on_error: bool,
    pub maximum_retry_attempts: i32,
    pub tumbling_window_secs: u32,
    pub report_batch_item_failures: bool,
    pub on_failure: Option<FailureDestination>,
    pub filters: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// Changes to a mapping: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct MappingUpdate {
    pub function: Option<FunctionName>,
    pub enabled: Option<bool>,
    pub batch_size: Option<u32>,
    pub batching_window_secs: Option<u32>,
    pub parallelization_factor: Option<u32>,
    pub maximum_record_age_secs: Option<i32>,
    pub bisect_on_error: Option<bool>,
    pub maximum_retry_attempts: Option<i32>,
    pub tumbling_window_secs: Option<u32>,
    pub report_batch_item_failures: Option<bool>,
    /// `Some(None)` removes the destination.
    pub on_failure: Option<Option<FailureDestination>>,
    pub filters: Option<Vec<String>>,
}

pub struct Mappings {
    pub(crate) registry: Arc<Registry>,
    clock: Clock,
    region: String,
    account: String,
}

impl Mappings {
    pub fn new(registry: Arc<Registry>, clock: Clock, region: String, account: String) -> Mappings {
        Mappings {
            registry,
            clock,
            region,
            account,
        }
    }

    pub fn arn(&self, uuid: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{uuid}",
            self.region, self.account
        )
    }

    pub fn get(&self, uuid: &str) -> Result<Arc<MappingRecord>, LambdaError> {
        self.registry.mapping(uuid).ok_or_else(|| {
            not_found(format!(
                "The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {})",
                ids::uuid()
            ))
        })
    }

    /// Mappings, optionally only those of a source ARN and/or function, oldest first.
    pub fn list(
        &self,
        source: Option<&str>,
        function: Option<&FunctionName>,
    ) -> Vec<Arc<MappingRecord>> {
        let mut out: Vec<Arc<MappingRecord>> = self
            .registry
            .mappings()
            .into_iter()
            .filter(|m| source.is_none_or(|s| m.event_source_arn == s))
            .filter(|m| function.is_none_or(|f| m.function == *f))
            .collect();
        out.sort_by(|a, b| (a.created_ms, &a.uuid).cmp(&(b.created_ms, &b.uuid)));
        out
    }

    pub async fn create(&self, spec: MappingSpec) -> Result<Arc<MappingRecord>, LambdaError> {
        let _control = self.registry.control.lock().await;
        if self.registry.function(&spec.function).is_none() {
            return Err(not_found(format!(
                "Function does not exist: arn:aws:lambda:{}:{}:function:{}",
                self.region, self.account, spec.function
            )));
        }
        let duplicate =
            self.registry.mappings().into_iter().find(|m| {
                m.event_source_arn == spec.event_source_arn && m.function == spec.function
            });
        if let Some(existing) = duplicate {
            return Err(LambdaError::new(
                crate::errors::LambdaErrorKind::ResourceConflict,
                format!(
                    "The event source arn ({}) and function ({}) provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                    spec.event_source_arn, spec.function, existing.uuid
                ),
            ));
        }
        let now = (self.clock)();
        let record = MappingRecord {
            format: crate::model::FORMAT_VERSION,
            uuid: ids::uuid(),
            function: spec.function,
            event_source_arn: spec.event_source_arn,
            stream: spec.stream,
            enabled: spec.enabled,
            batch_size: spec.batch_size,
            batching_window_secs: spec.batching_window_secs,
            parallelization_factor: spec.parallelization_factor,
            starting_position: spec.starting_position,
            maximum_record_age_secs: spec.maximum_record_age_secs,
            bisect_on_error: spec.bisect_on_error,
            maximum_retry_attempts: spec.maximum_retry_attempts,
            tumbling_window_secs: spec.tumbling_window_secs,
            report_batch_item_failures: spec.report_batch_item_failures,
            on_failure: spec.on_failure,
            filters: spec.filters,
            tags: spec.tags,
            created_ms: now,
            last_modified_ms: now,
        };
        self.registry.save_mapping(record.clone()).await?;
        Ok(Arc::new(record))
    }

    pub async fn update(
        &self,
        uuid: &str,
        update: MappingUpdate,
    ) -> Result<Arc<MappingRecord>, LambdaError> {
        let _control = self.registry.control.lock().await;
        let mut record = (*self.get(uuid)?).clone();
        if let Some(function) = update.function {
            if self.registry.function(&function).is_none() {
                return Err(invalid(format!("Function not found: {function}")));
            }
            record.function = function;
        }
        macro_rules! apply {
            ($($field:ident),*) => { $( if let Some(v) = update.$field { record.$field = v; } )* };
        }
        apply!(
            enabled,
            batch_size,
            batching_window_secs,
            parallelization_factor,
            maximum_record_age_secs,
            bisect_on_error,
            maximum_retry_attempts,
            tumbling_window_secs,
            report_batch_item_failures,
            on_failure,
            filters
        );
        record.last_modified_ms = (self.clock)();
        self.registry.save_mapping(record.clone()).await?;
        Ok(Arc::new(record))
    }

    pub async fn delete(&self, uuid: &str) -> Result<Arc<MappingRecord>, LambdaError> {
        let _control = self.registry.control.lock().await;
        let record = self.get(uuid)?;
        self.registry.remove_mapping(uuid).await?;
        Ok(record)
    }
}
