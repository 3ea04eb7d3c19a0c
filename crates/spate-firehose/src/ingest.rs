//! PutRecord and PutRecordBatch: records are durable in the log before they are acknowledged.

use crate::errors::{invalid, log_error, not_found};
use crate::ids::record_id;
use crate::limits::Admission;
use crate::model::{DeliveryStreamName, Source};
use crate::service::Firehose;
use spate_log::AppendRecord;
use spate_wire::{ApiError, ErrorKind};

/// What a put answers: each record's id (`None`: refused by the stream's throughput quota),
/// and whether the records are encrypted at rest.
pub struct Accepted {
    pub record_ids: Vec<Option<String>>,
    pub encrypted: bool,
}

/// Firehose's throttling answer.
pub fn slow_down() -> ApiError {
    ApiError::new(ErrorKind::ServiceUnavailableException, "Slow down.")
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
        let sizes: Vec<usize> = records.iter().map(Vec::len).collect();
        let admitted = match self.limits.admit(name.as_str(), &sizes, now) {
            Admission::SlowDown => return Err(slow_down()),
            Admission::Records(n) => n,
        };
        let refused = records.len() - admitted;
        let log_id = stream.log_id;
        let mut appends = Vec::with_capacity(admitted);
        let mut encrypted = false;
        for data in records.into_iter().take(admitted) {
            let (data, sealed) = self.seal.seal(&stream, data, now)?;
            encrypted = sealed;
            appends.push(AppendRecord {
                shard: log_id,
                partition_key: String::new(),
                data,
                sealed,
            });
        }
        let appended = self.log.append(appends).await.map_err(log_error)?;
        let record_ids = appended
            .iter()
            .map(|a| Some(record_id(log_id, a.counter, a.arrival_ms)))
            .chain(std::iter::repeat_n(None, refused))
            .collect();
        let encrypted = encrypted || stream.sse.as_ref().is_some_and(|s| s.seals(now));
        Ok(Accepted {
            record_ids,
            encrypted,
        })
    }
}
