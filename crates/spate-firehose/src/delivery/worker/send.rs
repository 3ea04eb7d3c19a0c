//! Delivering a buffer to its destination: an object to S3, or a POST to an HTTP endpoint with
//! its backups. The CPU work (compression, base64, JSON) runs on the blocking pool: the
//! buffer's batches move there and back.

use super::Worker;
use crate::convert::{self, Converter, TableRef, FORMAT_CONVERSION_FAILED};
use crate::delivery::backup::{
    error_object, Failed, Failure, DESTINATION_EXCEPTION, HTTP_ENDPOINT_FAILED,
};
use crate::delivery::backup::{failed_object, DYNAMIC_PARTITIONING_FAILED, PROCESSING_FAILED};
use crate::delivery::http::{build_request, HttpSender, PostError};
use crate::delivery::object::build;
use crate::delivery::partition;
use crate::delivery::process::{
    EventContext, FailedItem, Item, KinesisMetadata, Processed, Processors,
};
use crate::ids::uuid_v4;
use crate::model::Source;
use crate::model::{DeliveryStreamRecord, HttpDestination, S3Destination};
use crate::seal::SealKeys;
use spate_log::ReadBatch;
use spate_objects::PutObject;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Objects of one delivery (dynamic partitions) written at once, at most.
const PARALLEL_OBJECT_WRITES: usize = 8;

/// A buffered record as delivered: (position, arrival, data).
type Opened<'a> = (u64, i64, Cow<'a, [u8]>);

/// The buffer's records as delivered, records sealed at rest opened.
pub(super) fn opened<'a>(
    seal: &SealKeys,
    record: &DeliveryStreamRecord,
    batches: &'a [ReadBatch],
) -> Result<Vec<Opened<'a>>, String> {
    batches
        .iter()
        .flat_map(|b| b.records())
        .map(|r| {
            Ok((
                r.counter,
                r.arrival_ms,
                seal.open(record, r.data, r.sealed)?,
            ))
        })
        .collect()
}

/// The objects for the records that passed transformation (one per dynamic partition), and
/// the records no object could take.
async fn processed_objects(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    oldest: i64,
    processed: Arc<Processed>,
    converter: Option<Arc<Converter>>,
) -> Result<(Vec<PutObject>, Vec<FailedItem>), String> {
    let (record, destination) = (stream.clone(), destination.clone());
    tokio::task::spawn_blocking(move || {
        let converter = converter.as_deref();
        partition::objects(&record, &destination, oldest, &processed, converter)
    })
    .await
    .map_err(|e| format!("preparing the delivery: {e}"))?
}

impl Worker {
    /// Runs `work` over the buffer's batches on the blocking pool.
    pub(super) async fn with_batches<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&[ReadBatch]) -> T + Send + 'static,
    ) -> Result<T, String> {
        let batches = std::mem::take(&mut self.buffer.batches);
        let (out, batches) = tokio::task::spawn_blocking(move || (work(&batches), batches))
            .await
            .map_err(|e| format!("preparing the delivery: {e}"))?;
        self.buffer.batches = batches;
        Ok(out)
    }

    /// The buffer as one object of `destination` (its prefix, compression, name).
    async fn object(
        &mut self,
        stream: &DeliveryStreamRecord,
        destination: &S3Destination,
    ) -> Result<PutObject, String> {
        let oldest = self.buffer.oldest_arrival_ms.unwrap_or_default();
        let (record, destination, seal) = (stream.clone(), destination.clone(), self.seal.clone());
        self.with_batches(move |batches| {
            let records = opened(&seal, &record, batches)?;
            build(
                &record,
                &destination,
                oldest,
                records.iter().map(|r| r.2.as_ref()),
            )
        })
        .await?
    }

    pub(super) async fn write_object(
        &mut self,
        stream: &DeliveryStreamRecord,
        destination: &S3Destination,
    ) -> Result<(), String> {
        self.write_objects(stream, destination).await.map(|_| ())
    }

    /// Writes the buffer's objects (one per dynamic partition; none when every record was
    /// dropped or failed) and the source-record backup; the objects written.
    pub(super) async fn write_objects(
        &mut self,
        stream: &DeliveryStreamRecord,
        destination: &S3Destination,
    ) -> Result<Vec<PutObject>, String> {
        let processing = destination.processing.as_ref();
        let processors = processing.map(Processors::of).transpose()?.flatten();
        let converter = self.converter(destination).await?;
        let objects = match (processors, &converter) {
            (None, None) => vec![self.object(stream, destination).await?],
            (processors, converter) => {
                // Converted records take the processed path with no processor: conversion
                // failures go to the error output like processing failures.
                let processors = processors.unwrap_or_default();
                let processed = self.process(stream, &processors).await?;
                let oldest = self.buffer.oldest_arrival_ms.unwrap_or_default();
                let converting = converter.clone();
                let (objects, unplaced) =
                    processed_objects(stream, destination, oldest, processed.clone(), converting)
                        .await?;
                let table = converter.as_ref().map(|c| &c.table);
                self.write_failures(stream, destination, &processed, unplaced, table)
                    .await?;
                objects
            }
        };
        // Every record may have been dropped or failed: then there is no object. Dynamic
        // partitions' objects are written a few at a time.
        let written = objects.clone();
        let mut objects = objects.into_iter().peekable();
        while objects.peek().is_some() {
            let mut writes = tokio::task::JoinSet::new();
            for object in objects.by_ref().take(PARALLEL_OBJECT_WRITES) {
                let store = self.objects.clone();
                writes.spawn(async move { store.put(object).await });
            }
            while let Some(written) = writes.join_next().await {
                written
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            }
        }
        // S3BackupMode Enabled: the source records also go to the backup bucket. (Without
        // record transformation they are the records just delivered.)
        let backup = destination
            .backup
            .as_deref()
            .filter(|_| destination.backup_enabled);
        if let Some(backup) = backup {
            let object = self.object(stream, backup).await?;
            let copied = self.objects.put(object).await;
            copied.map_err(|e| format!("writing the backup copy: {e}"))?;
        }
        Ok(written)
    }

    /// The converter of `destination`'s record format conversion, with the table's columns
    /// as they are now; `None` without conversion. A table that cannot be read fails the
    /// delivery, which is retried: the records wait in the log.
    async fn converter(
        &self,
        destination: &S3Destination,
    ) -> Result<Option<Arc<Converter>>, String> {
        let Some(conversion) = destination
            .format_conversion
            .as_ref()
            .filter(|_| destination.converts())
        else {
            return Ok(None);
        };
        let schemas = self
            .schemas
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let schemas = schemas.ok_or(
            "record format conversion needs a Glue Data Catalog, and this server has none",
        )?;
        let config = &self.registry.config;
        let reference = conversion.schema.clone().unwrap_or_default();
        let table = TableRef::of(&reference, &config.account_id, &config.region);
        let columns = schemas.columns(&table).await.map_err(|e| {
            format!(
                "reading the Glue table {}.{}: {e}",
                table.database, table.table
            )
        })?;
        Converter::new(conversion, table, columns).map(|c| Some(Arc::new(c)))
    }

    /// The buffer transformed by `processors`, once per batch (kept across retries).
    pub(super) async fn process(
        &mut self,
        stream: &DeliveryStreamRecord,
        processors: &Processors,
    ) -> Result<Arc<Processed>, String> {
        if let Some(done) = &self.batch.processed {
            return Ok(done.clone());
        }
        let (record, seal) = (stream.clone(), self.seal.clone());
        let items = self
            .with_batches(move |batches| {
                batches
                    .iter()
                    .flat_map(|b| b.records())
                    .map(|r| {
                        Ok(Item {
                            counter: r.counter,
                            arrival_ms: r.arrival_ms,
                            data: seal.open(&record, r.data, r.sealed)?.into_owned(),
                            keys: Default::default(),
                            kinesis: KinesisMetadata::decode(r.partition_key),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .await??;
        let invoker = self
            .invoker
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let config = &self.registry.config;
        let arn = format!(
            "arn:aws:firehose:{}:{}:deliverystream/{}",
            config.region, config.account_id, stream.name
        );
        let ctx = EventContext {
            region: config.region.clone(),
            source_arn: match &stream.source {
                Source::KinesisStream { stream_arn, .. } => Some(stream_arn.clone()),
                _ => None,
            },
        };
        let done = processors.run(items, invoker.as_deref(), &arn, &ctx).await;
        let done = Arc::new(done);
        self.batch.processed = Some(done.clone());
        Ok(done)
    }

    /// Writes the records that failed transformation or partitioning to the error output,
    /// one object per error type, once per batch.
    pub(super) async fn write_failures(
        &mut self,
        stream: &DeliveryStreamRecord,
        destination: &S3Destination,
        processed: &Processed,
        unplaced: Vec<FailedItem>,
        table: Option<&TableRef>,
    ) -> Result<(), String> {
        if self.batch.failures_written {
            return Ok(());
        }
        let now = self.registry.now();
        let mut by_type: std::collections::BTreeMap<&str, Vec<FailedItem>> = Default::default();
        for f in processed.failed.iter().cloned().chain(unplaced) {
            let error_type = if f.code.starts_with("DynamicPartitioning.") {
                DYNAMIC_PARTITIONING_FAILED
            } else if f.code.starts_with("DataFormatConversion.") {
                FORMAT_CONVERSION_FAILED
            } else {
                PROCESSING_FAILED
            };
            by_type.entry(error_type).or_default().push(f);
        }
        for (error_type, failed) in by_type {
            let object = match table.filter(|_| error_type == FORMAT_CONVERSION_FAILED) {
                Some(table) => convert::failed_object(stream, destination, &failed, now, table)?,
                None => failed_object(stream, destination, error_type, &failed, now)?,
            };
            let written = self.objects.put(object).await;
            written.map_err(|e| format!("writing records that failed processing: {e}"))?;
        }
        self.batch.failures_written = true;
        Ok(())
    }

    fn http_sender(&mut self) -> Result<Arc<HttpSender>, String> {
        if let Some(sender) = &self.http {
            return Ok(sender.clone());
        }
        let sender = Arc::new(
            HttpSender::new(&self.registry.config.trust)
                .map_err(|e| format!("the HTTP client: {e}"))?,
        );
        self.http = Some(sender.clone());
        Ok(sender)
    }

    /// POSTs the buffer (the same request id on every attempt). Past the retry duration, or
    /// after a 413, the records go to the backup bucket instead; with S3BackupMode AllData a
    /// delivered buffer is also written there.
    pub(super) async fn post(
        &mut self,
        stream: &DeliveryStreamRecord,
        http: &HttpDestination,
    ) -> Result<(), String> {
        if let Some(reason) = self.batch.given_up.clone() {
            return self.back_up(stream, http, &reason).await;
        }
        let sender = self.http_sender()?;
        let request_id = self.batch.request_id.get_or_insert_with(uuid_v4).clone();
        let source_arn = {
            let c = &self.registry.config;
            format!(
                "arn:aws:firehose:{}:{}:deliverystream/{}",
                c.region, c.account_id, stream.name
            )
        };
        let (destination, id, now) = (http.clone(), request_id.clone(), self.registry.now());
        let processing = http.processing.as_ref();
        let request = match processing.map(Processors::of).transpose()?.flatten() {
            Some(processors) => {
                // Transformed records are posted; those that failed go to the S3 error output.
                let processed = self.process(stream, &processors).await?;
                self.write_failures(stream, &http.s3, &processed, Vec::new(), None)
                    .await?;
                if processed.ok.is_empty() {
                    return Ok(());
                }
                tokio::task::spawn_blocking(move || {
                    let records = processed.ok.iter().map(|i| i.data.as_slice());
                    build_request(&destination, &source_arn, &id, now, records)
                })
                .await
                .map_err(|e| format!("preparing the delivery: {e}"))??
            }
            None => {
                let (record, seal) = (stream.clone(), self.seal.clone());
                self.with_batches(move |batches| {
                    let records = opened(&seal, &record, batches)?;
                    let records = records.iter().map(|r| r.2.as_ref());
                    build_request(&destination, &source_arn, &id, now, records)
                })
                .await??
            }
        };
        match sender.send(request, &request_id).await {
            Ok(()) if http.backup_all => self.write_object(stream, &http.s3).await,
            Ok(()) => Ok(()),
            Err(PostError::TooLarge(reason)) => self.give_up(stream, http, reason).await,
            Err(PostError::Retriable(reason)) => {
                let since = *self.batch.failing_since.get_or_insert_with(Instant::now);
                let window = Duration::from_secs(http.retry_duration_secs.max(0) as u64);
                if since.elapsed() >= window {
                    return self.give_up(stream, http, reason).await;
                }
                Err(reason)
            }
        }
    }

    async fn give_up(
        &mut self,
        stream: &DeliveryStreamRecord,
        http: &HttpDestination,
        reason: String,
    ) -> Result<(), String> {
        tracing::warn!(
            "Firehose {}: backing up a batch the endpoint did not take: {reason}",
            stream.name
        );
        self.batch.given_up = Some(reason.clone());
        self.back_up(stream, http, &reason).await
    }

    /// Writes the buffer's records as error records to the backup bucket.
    async fn back_up(
        &mut self,
        stream: &DeliveryStreamRecord,
        http: &HttpDestination,
        reason: &str,
    ) -> Result<(), String> {
        let attempts = self.batch.attempts.saturating_add(1);
        let (record, destination, reason) = (stream.clone(), http.s3.clone(), reason.to_string());
        let ending_ms = self.registry.now();
        let seal = self.seal.clone();
        let object = self
            .with_batches(move |batches| {
                let records = opened(&seal, &record, batches)?;
                let failure = Failure {
                    error_type: HTTP_ENDPOINT_FAILED,
                    code: DESTINATION_EXCEPTION,
                    message: &reason,
                    attempts,
                    ending_ms,
                };
                let records = records.iter().map(|(counter, arrival_ms, data)| Failed {
                    counter: *counter,
                    arrival_ms: *arrival_ms,
                    data: data.as_ref(),
                });
                error_object(&record, &destination, &failure, records)
            })
            .await??;
        self.objects
            .put(object)
            .await
            .map_err(|e| format!("writing the failed records to the backup bucket: {e}"))
    }
}
