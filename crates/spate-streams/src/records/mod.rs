//! The data plane: putting records (here) and reading them (`read`).
//!
//! Writers route under their stream's gate (see `reshard`): from looking up the shard map until
//! the append is submitted to the log. Waiting for durability happens outside it.

mod page;
mod read;

pub use page::RecordsPage;
pub use read::{starting_position, GetShardIterator};

use crate::config::limits;
use crate::encryption::Keyring;
use crate::errors::{internal, invalid, log_error};
use crate::hashing::hash_key;
use crate::model::{ShardId, StreamRef};
use crate::output::sequence;
use crate::store::{Status, Stream, StreamStore};
use crate::traffic::{hash_slice, Traffic, WriteOffer};
use spate_catalog::ShardRecord;
use spate_log::{AppendRecord, LogError, RecordLog};
use spate_wire::kinesis::{PutRecordOutput, PutRecordsOutput, PutRecordsResultEntry};
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;
use tokio::sync::OwnedRwLockReadGuard;

/// One record to put, validated.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub data: Vec<u8>,
    pub partition_key: String,
    /// A decimal hash key as given (checked against 2^128 - 1 here).
    pub explicit_hash_key: Option<String>,
}

pub struct Records {
    pub(crate) store: Arc<StreamStore>,
    pub(crate) log: Arc<dyn RecordLog>,
    pub(crate) traffic: Arc<Traffic>,
    pub(crate) keyring: Arc<Keyring>,
}

/// The hash key of a record: its explicit hash key, or the MD5 of its partition key.
/// Spreads AUTO-distributed records evenly: a counter scrambled into the hash key space.
static AUTO_SPREAD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn record_hash(record: &NewRecord, auto: bool) -> Result<u128, ApiError> {
    if auto {
        let n = AUTO_SPREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // splitmix64: consecutive counters land far apart in the key space.
        let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        return Ok(u128::from(z) << 64 | u128::from(n));
    }
    match &record.explicit_hash_key {
        Some(text) => text.parse::<u128>().map_err(|_| {
            invalid(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        }),
        None => Ok(hash_key(&record.partition_key)),
    }
}

impl Records {
    /// Whether a write to the stream would be taken now (DryRun): it exists and is ACTIVE or
    /// UPDATING.
    pub async fn check_writable(&self, stream: &StreamRef) -> Result<(), ApiError> {
        self.writable(stream).await.map(|_| ())
    }

    /// The stream to write to, with its gate held. A CREATING or DELETING stream takes no
    /// records (AWS answers ResourceNotFoundException).
    async fn writable(
        &self,
        stream: &StreamRef,
    ) -> Result<(Arc<Stream>, OwnedRwLockReadGuard<()>), ApiError> {
        loop {
            let found = self.store.resolve(stream)?;
            let gate = found.gate.clone().read_owned().await;
            // The shard map may have changed while this writer waited for the gate.
            let current = self.store.resolve(stream)?;
            if !Arc::ptr_eq(&current.gate, &found.gate) {
                continue; // deleted and created again meanwhile: route with the new stream
            }
            return match current.status(self.store.now()) {
                Status::Active | Status::Updating => Ok((current, gate)),
                _ => Err(crate::errors::not_found(
                    &self.store.config,
                    &current.record.name,
                )),
            };
        }
    }

    fn write_throttled_message(&self, stream: &Stream, shard: &ShardRecord) -> String {
        format!(
            "Rate exceeded for shard {} in stream {} under account {}.",
            ShardId(shard.index),
            stream.record.name,
            self.store.config.account_id
        )
    }

    /// SequenceNumberForOrdering must be a sequence number this stream handed out.
    fn check_ordering(&self, stream: &Stream, text: &str) -> Result<(), ApiError> {
        let valid = crate::sequence::SequenceNumber::parse(text).is_some_and(|seq| {
            stream.shard(seq.shard_index).is_some_and(|shard| {
                shard.created_ms / 1000 == i64::try_from(seq.shard_created_secs).unwrap_or(-1)
            }) && (seq.is_before() || seq.arrival_ms <= self.store.now())
        });
        if valid {
            return Ok(());
        }
        Err(invalid(format!(
            "ExclusiveMinimumSequenceNumber {text} used in PutRecord on stream {} under account {} is invalid.",
            stream.record.name, self.store.config.account_id
        )))
    }

    pub async fn put_record(
        &self,
        stream: &StreamRef,
        record: NewRecord,
        sequence_number_for_ordering: Option<&str>,
    ) -> Result<PutRecordOutput, ApiError> {
        let (stream, gate) = self.writable(stream).await?;
        check_data_size(&stream, &[record.data.len()], |_| "data".to_string())?;
        let hash = record_hash(&record, stream.record.auto_distribution)?;
        if let Some(text) = sequence_number_for_ordering {
            self.check_ordering(&stream, text)?;
        }
        let shard = stream
            .route(hash)
            .ok_or_else(|| internal("no open shard covers a hash key"))?
            .clone();
        let offer = WriteOffer {
            shard: shard.log_id,
            slice: hash_slice(shard.starting_hash_key, shard.ending_hash_key, hash),
            bytes: record.data.len() + record.partition_key.len(),
        };
        let mut admitted = Vec::with_capacity(1);
        self.traffic
            .admit_writes(self.store.now(), &[offer], &mut admitted);
        if admitted.first() != Some(&true) {
            return Err(ApiError::new(
                ErrorKind::ProvisionedThroughputExceeded,
                self.write_throttled_message(&stream, &shard),
            ));
        }
        let sealer = self.keyring.sealer(&stream)?;
        let (partition_key, data, sealed) = sealer.seal(record.partition_key, record.data)?;
        let appended = self.log.append(vec![AppendRecord {
            shard: shard.log_id,
            partition_key,
            data,
            sealed,
        }]);
        drop(gate);
        let acks = appended.await.map_err(log_error)?;
        let ack = acks
            .first()
            .ok_or_else(|| internal("log returned no ack"))?;
        Ok(PutRecordOutput {
            shard_id: ShardId(shard.index).to_string(),
            sequence_number: sequence(&shard, ack.counter, ack.arrival_ms).to_string(),
            encryption_type: sealer.encryption_type(),
        })
    }

    pub async fn put_records(
        &self,
        stream: &StreamRef,
        records: Vec<NewRecord>,
    ) -> Result<PutRecordsOutput, ApiError> {
        let (stream, gate) = self.writable(stream).await?;
        let sizes: Vec<usize> = records.iter().map(|r| r.data.len()).collect();
        check_data_size(&stream, &sizes, |i| {
            format!("records.{}.member.data", i + 1)
        })?;
        let max_data = stream.max_data_bytes();
        let total: usize = records
            .iter()
            .map(|r| r.data.len() + r.partition_key.len())
            .sum();
        let max_total = limits::MAX_PUT_RECORDS_BYTES.max(max_data);
        if total > max_total {
            return Err(invalid(format!(
                "Records size exceeds {} MB limit",
                max_total >> 20
            )));
        }
        let (shards, offers) = route_records(&stream, &records)?;
        let mut admitted = Vec::with_capacity(records.len());
        self.traffic
            .admit_writes(self.store.now(), &offers, &mut admitted);
        let sealer = self.keyring.sealer(&stream)?;
        let appends: Vec<AppendRecord> = records
            .into_iter()
            .zip(&offers)
            .zip(&admitted)
            .filter(|(_, &ok)| ok)
            .map(|((r, offer), _)| {
                let (partition_key, data, sealed) = sealer.seal(r.partition_key, r.data)?;
                Ok(AppendRecord {
                    shard: offer.shard,
                    partition_key,
                    data,
                    sealed,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        let appended = self.log.append(appends);
        drop(gate);
        let acks = match appended.await {
            Ok(acks) => acks,
            // A full write queue throttles the whole batch; the client retries those records.
            Err(LogError::Overloaded { .. }) => {
                admitted.iter_mut().for_each(|ok| *ok = false);
                Vec::new()
            }
            Err(e) => return Err(log_error(e)),
        };
        let mut output = self.results(&stream, &shards, &admitted, &acks);
        output.encryption_type = sealer.encryption_type();
        Ok(output)
    }

    /// PutRecords' results in request order: admitted records take their acks in turn, the
    /// others are throttled.
    fn results(
        &self,
        stream: &Stream,
        shards: &[&ShardRecord],
        admitted: &[bool],
        acks: &[spate_log::Appended],
    ) -> PutRecordsOutput {
        let mut acks = acks.iter();
        let mut failed = 0;
        let records = shards
            .iter()
            .zip(admitted)
            // Only admitted records have acks: take one only for those.
            .map(|(shard, &ok)| match if ok { acks.next() } else { None } {
                Some(ack) => PutRecordsResultEntry {
                    sequence_number: Some(sequence(shard, ack.counter, ack.arrival_ms).to_string()),
                    shard_id: Some(ShardId(shard.index).to_string()),
                    error_code: None,
                    error_message: None,
                },
                None => {
                    failed += 1;
                    PutRecordsResultEntry {
                        sequence_number: None,
                        shard_id: None,
                        error_code: Some("ProvisionedThroughputExceededException"),
                        error_message: Some(self.write_throttled_message(stream, shard)),
                    }
                }
            })
            .collect();
        PutRecordsOutput {
            failed_record_count: failed,
            records,
            encryption_type: "NONE",
        }
    }
}

/// Each record's shard, and what it offers the shard's traffic meters.
fn route_records<'s>(
    stream: &'s Stream,
    records: &[NewRecord],
) -> Result<(Vec<&'s ShardRecord>, Vec<WriteOffer>), ApiError> {
    let mut shards = Vec::with_capacity(records.len());
    let mut offers = Vec::with_capacity(records.len());
    for r in records {
        let hash = record_hash(r, stream.record.auto_distribution)?;
        let shard = stream
            .route(hash)
            .ok_or_else(|| internal("no open shard covers a hash key"))?;
        shards.push(shard);
        offers.push(WriteOffer {
            shard: shard.log_id,
            slice: hash_slice(shard.starting_hash_key, shard.ending_hash_key, hash),
            bytes: r.data.len() + r.partition_key.len(),
        });
    }
    Ok((shards, offers))
}

/// Records may be as large as the stream's MaxRecordSizeInKiB; AWS words the excess as a
/// validation error of the member.
fn check_data_size(
    stream: &Stream,
    sizes: &[usize],
    member: impl Fn(usize) -> String,
) -> Result<(), ApiError> {
    let max = stream.max_data_bytes();
    let mut v = spate_wire::validate::Validator::new();
    for (i, &len) in sizes.iter().enumerate().filter(|(_, &len)| len > max) {
        v.blob_length(Some(len), &member(i), max);
    }
    v.finish()
}
