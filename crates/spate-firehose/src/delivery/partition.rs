//! Dynamic partitioning: a batch's records grouped by their partition keys, one object per
//! group under the prefix the keys evaluate to (`!{partitionKeyFromQuery:k}`,
//! `!{partitionKeyFromLambda:k}`), timestamps from the group's oldest record. Records whose
//! keys do not evaluate the prefix fail to the error output; past [`ACTIVE_PARTITIONS_MAX`]
//! groups in one batch, the records of the further groups fail too.

use super::object::{build, build_at, zoned};
use super::prefix::PartitionKeys;
use super::process::{FailedItem, Item, Processed, METADATA_EXTRACTION_FAILED};
use crate::model::{DeliveryStreamRecord, S3Destination};
use spate_objects::PutObject;
use std::collections::BTreeMap;

/// Partitions one delivery may write to at most (AWS's active partitions quota), in partitions.
pub const ACTIVE_PARTITIONS_MAX: usize = 500;
/// The error code of records beyond [`ACTIVE_PARTITIONS_MAX`].
pub const PARTITIONS_EXCEEDED: &str = "DynamicPartitioning.ActivePartitionsLimitExceeded";

/// The objects for the records that passed processing, and the records that could not be
/// placed. Without dynamic partitioning: one object (none if no record is left).
pub fn objects(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    oldest_ms: i64,
    processed: &Processed,
) -> Result<(Vec<PutObject>, Vec<FailedItem>), String> {
    if processed.ok.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let datas = || processed.ok.iter().map(|i| i.data.as_slice());
    if !destination.partitions_dynamically() {
        return Ok((
            vec![build(stream, destination, oldest_ms, datas())?],
            Vec::new(),
        ));
    }
    // Groups in the order their first record arrived.
    let mut order: Vec<&PartitionKeys> = Vec::new();
    let mut groups: BTreeMap<&PartitionKeys, Vec<&Item>> = BTreeMap::new();
    for item in &processed.ok {
        let group = groups.entry(&item.keys).or_default();
        if group.is_empty() {
            order.push(&item.keys);
        }
        group.push(item);
    }
    let prefixes = destination.prefixes()?;
    let (mut objects, mut unplaced) = (Vec::new(), Vec::new());
    for (n, keys) in order.into_iter().enumerate() {
        let items = groups.remove(keys).unwrap_or_default();
        let fail = |code: &'static str, message: String| -> Vec<FailedItem> {
            items
                .iter()
                .map(|i| FailedItem {
                    item: (*i).clone(),
                    code: code.to_string(),
                    message: message.clone(),
                    attempts: 1,
                    lambda_arn: None,
                })
                .collect()
        };
        if n >= ACTIVE_PARTITIONS_MAX {
            let message = format!("More than {ACTIVE_PARTITIONS_MAX} partitions in one delivery.");
            unplaced.extend(fail(PARTITIONS_EXCEEDED, message));
            continue;
        }
        let oldest = items
            .iter()
            .map(|i| i.arrival_ms)
            .min()
            .unwrap_or(oldest_ms);
        let time = zoned(destination, oldest)?;
        match prefixes.prefix.evaluate_partition(&time, keys) {
            Ok(prefix) => {
                let records = items.iter().map(|i| i.data.as_slice());
                objects.push(build_at(stream, destination, &prefix, &time, records)?);
            }
            Err(message) => unplaced.extend(fail(METADATA_EXTRACTION_FAILED, message)),
        }
    }
    Ok((objects, unplaced))
}
