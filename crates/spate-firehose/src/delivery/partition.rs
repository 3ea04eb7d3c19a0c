//! Dynamic partitioning: a batch's records grouped by their partition keys, one object per
//! group under the prefix the keys evaluate to (`!{partitionKeyFromQuery:k}`,
//! `!{partitionKeyFromLambda:k}`), timestamps from the group's oldest record. Records whose
//! keys do not evaluate the prefix fail to the error output; past [`ACTIVE_PARTITIONS_MAX`]
//! groups in one batch, the records of the further groups fail too.

use super::object::{build_at, with_body, zoned};
use super::prefix::PartitionKeys;
use super::process::{FailedItem, Item, Processed, METADATA_EXTRACTION_FAILED};
use crate::convert::Converter;
use crate::model::{DeliveryStreamRecord, S3Destination};
use jiff::Zoned;
use spate_objects::PutObject;
use std::collections::BTreeMap;

/// Partitions one delivery may write to at most (AWS's active partitions quota), in partitions.
pub const ACTIVE_PARTITIONS_MAX: usize = 500;
/// The error code of records beyond [`ACTIVE_PARTITIONS_MAX`].
pub const PARTITIONS_EXCEEDED: &str = "DynamicPartitioning.ActivePartitionsLimitExceeded";

/// The objects for the records that passed processing, and the records that could not be
/// placed (or, with `converter`, converted). Without dynamic partitioning: one object (none if
/// no record is left).
pub fn objects(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    oldest_ms: i64,
    processed: &Processed,
    converter: Option<&Converter>,
) -> Result<(Vec<PutObject>, Vec<FailedItem>), String> {
    if processed.ok.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut out = Placed {
        stream,
        destination,
        converter,
        objects: Vec::new(),
        unplaced: Vec::new(),
    };
    if !destination.partitions_dynamically() {
        let time = zoned(destination, oldest_ms)?;
        let prefix = destination.prefixes()?.prefix.evaluate(&time);
        let items: Vec<&Item> = processed.ok.iter().collect();
        out.place(&prefix, &time, &items)?;
        return Ok((out.objects, out.unplaced));
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
    for (n, keys) in order.into_iter().enumerate() {
        let items = groups.remove(keys).unwrap_or_default();
        if n >= ACTIVE_PARTITIONS_MAX {
            let message = format!("More than {ACTIVE_PARTITIONS_MAX} partitions in one delivery.");
            out.fail(&items, PARTITIONS_EXCEEDED, &message);
            continue;
        }
        let oldest = items
            .iter()
            .map(|i| i.arrival_ms)
            .min()
            .unwrap_or(oldest_ms);
        let time = zoned(destination, oldest)?;
        match prefixes.prefix.evaluate_partition(&time, keys) {
            Ok(prefix) => out.place(&prefix, &time, &items)?,
            Err(message) => out.fail(&items, METADATA_EXTRACTION_FAILED, &message),
        }
    }
    Ok((out.objects, out.unplaced))
}

/// The objects of one delivery so far, and the records that did not make it into one.
struct Placed<'a> {
    stream: &'a DeliveryStreamRecord,
    destination: &'a S3Destination,
    converter: Option<&'a Converter>,
    objects: Vec<PutObject>,
    unplaced: Vec<FailedItem>,
}

impl Placed<'_> {
    /// The object of `items` under `prefix`: their bytes, or their conversion.
    fn place(&mut self, prefix: &str, time: &Zoned, items: &[&Item]) -> Result<(), String> {
        let records = items.iter().map(|i| i.data.as_slice());
        let Some(converter) = self.converter else {
            let object = build_at(self.stream, self.destination, prefix, time, records)?;
            self.objects.push(object);
            return Ok(());
        };
        let (body, unconverted) = converter.convert(records)?;
        for (n, code, message) in unconverted {
            if let Some(item) = items.get(n) {
                self.fail(&[*item], code, &message);
            }
        }
        if let Some(body) = body {
            let object = with_body(self.stream, self.destination, prefix, time, body);
            self.objects.push(object);
        }
        Ok(())
    }

    fn fail(&mut self, items: &[&Item], code: &str, message: &str) {
        self.unplaced.extend(items.iter().map(|i| FailedItem {
            item: (*i).clone(),
            code: code.to_string(),
            message: message.to_string(),
            attempts: 1,
            lambda_arn: None,
        }));
    }
}
