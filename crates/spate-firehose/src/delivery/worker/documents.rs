//! The buffer as the documents (OpenSearch) or events (Splunk) a destination takes one by one:
//! transformed when processing is configured, each with a key that stays the same across
//! attempts.

use super::send::opened;
use super::Worker;
use crate::delivery::process::Processors;
use crate::ids::record_id;
use crate::model::{DeliveryStreamRecord, Processing, S3Destination};
use std::collections::HashMap;

/// One document of the buffer: its stable key (its `_id` with FIREHOSE_DEFAULT ids), arrival
/// and data.
pub(super) struct Doc {
    pub key: String,
    pub arrival_ms: i64,
    pub data: Vec<u8>,
}

impl Worker {
    /// The buffer's documents: transformed items when processing is configured (records that
    /// failed transformation go to the error output), else the records as they came.
    pub(super) async fn documents(
        &mut self,
        stream: &DeliveryStreamRecord,
        processing: Option<&Processing>,
        errors_to: &S3Destination,
    ) -> Result<Vec<Doc>, String> {
        let log_id = stream.log_id;
        if let Some(processors) = processing.map(Processors::of).transpose()?.flatten() {
            let processed = self.process(stream, &processors).await?;
            self.write_failures(stream, errors_to, &processed, Vec::new(), None)
                .await?;
            // De-aggregation can turn one record into several items: number them.
            let mut seen: HashMap<u64, usize> = HashMap::new();
            return Ok(processed
                .ok
                .iter()
                .map(|item| {
                    let n = seen.entry(item.counter).or_default();
                    *n += 1;
                    let base = record_id(log_id, item.counter, item.arrival_ms);
                    let key = if *n == 1 { base } else { format!("{base}-{n}") };
                    Doc {
                        key,
                        arrival_ms: item.arrival_ms,
                        data: item.data.clone(),
                    }
                })
                .collect());
        }
        let (record, seal) = (stream.clone(), self.seal.clone());
        self.with_batches(move |batches| {
            let records = opened(&seal, &record, batches)?;
            Ok(records
                .into_iter()
                .map(|(counter, arrival_ms, data)| Doc {
                    key: record_id(log_id, counter, arrival_ms),
                    arrival_ms,
                    data: data.into_owned(),
                })
                .collect())
        })
        .await?
    }
}
