//! Delivery to an Amazon OpenSearch Service destination: the buffer's documents (transformed,
//! if processing is configured) in one `_bulk` request per attempt, only those not indexed
//! yet sent again; past RetryOptions the ones still failing are written to S3 under
//! `AmazonOpenSearchService-failed`, and with AllDocuments every record is backed up too.

use super::documents::Doc;
use super::Worker;
use crate::delivery::backup::{opensearch_failed_object, FailedDocument};
use crate::delivery::bulk::{bulk_body, index_name, outcomes, BulkClient, Document, Outcome};
use crate::model::{DeliveryStreamRecord, OpenSearchDestination};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

impl Worker {
    fn bulk_client(&mut self) -> Result<Arc<BulkClient>, String> {
        if let Some(client) = &self.bulk {
            return Ok(client.clone());
        }
        let client = Arc::new(BulkClient::new(&self.registry.config.trust)?);
        self.bulk = Some(client.clone());
        Ok(client)
    }

    pub(super) async fn bulk(
        &mut self,
        stream: &DeliveryStreamRecord,
        os: &OpenSearchDestination,
    ) -> Result<(), String> {
        let docs = self
            .documents(stream, os.processing.as_ref(), &os.s3)
            .await?;
        let pending: Vec<&Doc> = docs
            .iter()
            .filter(|d| !self.batch.indexed.contains(&d.key))
            .collect();
        if let Some(reason) = self.batch.given_up.clone() {
            return self.back_up_documents(stream, os, &pending, &reason).await;
        }
        if !pending.is_empty() {
            // Each document is parsed and written on one line: CPU work, off the async threads.
            let owned: Vec<(Option<String>, String, Vec<u8>)> = pending
                .iter()
                .map(|d| {
                    let id = os.firehose_document_ids.then(|| d.key.clone());
                    let index = index_name(&os.index_name, os.rotation, d.arrival_ms);
                    (id, index, d.data.clone())
                })
                .collect();
            let type_name = os.type_name.clone();
            let body = tokio::task::spawn_blocking(move || {
                let documents: Vec<Document<'_>> = owned
                    .iter()
                    .map(|(id, index, data)| Document {
                        id: id.as_deref(),
                        index,
                        data,
                    })
                    .collect();
                bulk_body(&documents, type_name.as_deref())
            })
            .await
            .map_err(|e| format!("preparing the bulk request: {e}"))?;
            let endpoint = os.cluster_endpoint.clone().unwrap_or_default();
            let answer = self.bulk_client()?.post(&endpoint, body).await;
            self.judge(&pending, answer);
        }
        let failing: Vec<&Doc> = docs
            .iter()
            .filter(|d| !self.batch.indexed.contains(&d.key))
            .collect();
        if failing.is_empty() {
            return match os.backup_all {
                true => self.write_object(stream, &os.s3).await,
                false => Ok(()),
            };
        }
        let reason = self.first_error(&failing);
        let since = *self.batch.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= Duration::from_secs(os.retry_duration_secs.max(0) as u64) {
            tracing::warn!(
                "Firehose {}: backing up {} documents the cluster did not index: {reason}",
                stream.name,
                failing.len()
            );
            self.batch.given_up = Some(reason.clone());
            self.back_up_documents(stream, os, &failing, &reason)
                .await?;
            return match os.backup_all {
                true => self.write_object(stream, &os.s3).await,
                false => Ok(()),
            };
        }
        Err(format!(
            "{} of {} documents not indexed: {reason}",
            failing.len(),
            docs.len()
        ))
    }

    /// Records which documents the answer indexed, and why the others failed.
    fn judge(&mut self, pending: &[&Doc], answer: Result<(u16, bytes::Bytes), String>) {
        let fail_all = |batch: &mut super::Batch, code: String, message: String| {
            for d in pending {
                batch
                    .doc_errors
                    .insert(d.key.clone(), (code.clone(), message.clone()));
            }
        };
        match answer {
            Err(reason) => fail_all(&mut self.batch, "OS.ConnectionFailed".into(), reason),
            Ok((200, body)) => match outcomes(&body, pending.len()) {
                Ok(results) => {
                    for (d, outcome) in pending.iter().zip(results) {
                        match outcome {
                            Outcome::Indexed => {
                                self.batch.indexed.insert(d.key.clone());
                                self.batch.doc_errors.remove(&d.key);
                            }
                            Outcome::Failed { status, error } => {
                                self.batch
                                    .doc_errors
                                    .insert(d.key.clone(), (status.to_string(), error));
                            }
                        }
                    }
                }
                Err(e) => fail_all(&mut self.batch, "OS.InvalidResponse".into(), e),
            },
            Ok((status, body)) => {
                let text = String::from_utf8_lossy(&body).chars().take(1024).collect();
                fail_all(&mut self.batch, status.to_string(), text)
            }
        }
    }

    fn first_error(&self, failing: &[&Doc]) -> String {
        failing
            .iter()
            .find_map(|d| self.batch.doc_errors.get(&d.key))
            .map(|(code, message)| format!("{code}: {message}"))
            .unwrap_or_else(|| "not indexed".into())
    }

    /// Writes the documents that were not indexed to the backup bucket, with AWS's error
    /// record fields (and the document id and index they were sent with).
    async fn back_up_documents(
        &mut self,
        stream: &DeliveryStreamRecord,
        os: &OpenSearchDestination,
        failing: &[&Doc],
        reason: &str,
    ) -> Result<(), String> {
        if failing.is_empty() {
            return Ok(());
        }
        let attempts = self.batch.attempts.saturating_add(1);
        let ending_ms = self.registry.now();
        let documents: Vec<FailedDocument<'_>> = failing
            .iter()
            .map(|d| {
                let (code, message) = self
                    .batch
                    .doc_errors
                    .get(&d.key)
                    .cloned()
                    .unwrap_or_else(|| ("OS.Failed".into(), reason.to_string()));
                FailedDocument {
                    arrival_ms: d.arrival_ms,
                    data: &d.data,
                    code,
                    message,
                    document_id: os.firehose_document_ids.then(|| d.key.clone()),
                    index: index_name(&os.index_name, os.rotation, d.arrival_ms),
                    type_name: os.type_name.clone().unwrap_or_default(),
                }
            })
            .collect();
        let object = opensearch_failed_object(stream, &os.s3, attempts, ending_ms, &documents)?;
        self.objects
            .put(object)
            .await
            .map_err(|e| format!("writing the failed documents to the backup bucket: {e}"))
    }
}
