//! PutRecord and PutRecordBatch: records are durable in the log before they are acknowledged.

use crate::errors::{invalid, log_error, not_found};
use crate::ids::record_id;
use crate::model::{DeliveryStreamName, Source};
use crate::service::Firehose;
use spate_log::AppendRecord;
use spate_wire::ApiError;

/// What a put answers: each record's id, and whether the records are encrypted at rest.
pub struct Accepted {
    pub record_ids: Vec<String>,
    pub encrypted: bool,
}

impl Firehose {
    /// Appends `records` to the stream's log shard; resolves once they are durable.
    pub async fn put(
        &self,
        name: &DeliveryStreamName,
        records: Vec<Vec<u8>>,
    ) -> Result<Accepted, ApiError> {
        let stream = self.registry.find(name)?;
        let now = self.registry.now();
        if !matches!(stream.source, Source::DirectPut { .. }) {
            return Err(invalid(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
            ));
        }
        // AWS refuses records until the stream is ACTIVE (and still takes them while DELETING).
        if stream.status(now) == "CREATING" {
            return Err(not_found(self.config(), name.as_str()));
        }
        let log_id = stream.log_id;
        let appends = records
            .into_iter()
            .map(|data| AppendRecord {
                shard: log_id,
                partition_key: String::new(),
                data,
                sealed: false,
            })
            .collect();
        let appended = self.log.append(appends).await.map_err(log_error)?;
        let record_ids = appended
            .iter()
            .map(|a| record_id(log_id, a.counter, a.arrival_ms))
            .collect();
        Ok(Accepted {
            record_ids,
            // Records are not sealed at rest yet: see docs/compatibility.md.
            encrypted: false,
        })
    }
}
