//! Delivery to a Splunk destination: the buffer's events (transformed, if processing is
//! configured) in one HEC request per attempt, delivered once the indexers acknowledge them.
//! Failures and acknowledgement timeouts are retried until RetryOptions has passed (the time
//! spent waiting for acknowledgements does not count, as on AWS); then the events go to S3
//! under `splunk-failed`. With AllEvents every record is backed up too.

use super::documents::Doc;
use super::Worker;
use crate::delivery::backup::{splunk_failed_object, FailedEvent, Failure, SPLUNK_FAILED};
use crate::delivery::hec::{HecClient, HecError};
use crate::model::{DeliveryStreamRecord, SplunkDestination};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

impl Worker {
    fn hec_client(&mut self) -> Result<Arc<HecClient>, String> {
        if let Some(client) = &self.hec {
            return Ok(client.clone());
        }
        let client = Arc::new(HecClient::new(&self.registry.config.trust)?);
        self.hec = Some(client.clone());
        Ok(client)
    }

    pub(super) async fn hec(
        &mut self,
        stream: &DeliveryStreamRecord,
        d: &SplunkDestination,
    ) -> Result<(), String> {
        let events = self.documents(stream, d.processing.as_ref(), &d.s3).await?;
        if let Some(failure) = self.batch.hec_failure.clone() {
            return self.back_up_events(stream, d, &events, &failure).await;
        }
        if !events.is_empty() {
            let body: Vec<u8> = events.iter().flat_map(|e| e.data.iter().copied()).collect();
            let first_failure = self.batch.failing_since.is_none();
            let attempt = self.hec_client()?.deliver(d, Bytes::from(body)).await;
            if let Err(e) = attempt.outcome {
                let since = *self.batch.failing_since.get_or_insert_with(Instant::now);
                if !first_failure {
                    self.batch.ack_waited += attempt.ack_wait;
                }
                let window = Duration::from_secs(d.retry_duration_secs.max(0) as u64);
                if since.elapsed().saturating_sub(self.batch.ack_waited) < window {
                    return Err(format!("{}: {}", e.code, e.message));
                }
                tracing::warn!(
                    "Firehose {}: backing up {} events Splunk did not acknowledge: {}",
                    stream.name,
                    events.len(),
                    e.code
                );
                self.batch.hec_failure = Some(e.clone());
                self.back_up_events(stream, d, &events, &e).await?;
            }
        }
        match d.backup_all {
            true => self.write_object(stream, &d.s3).await,
            false => Ok(()),
        }
    }

    /// Writes the events to the backup bucket with the error that ended their retries.
    async fn back_up_events(
        &mut self,
        stream: &DeliveryStreamRecord,
        d: &SplunkDestination,
        events: &[Doc],
        error: &HecError,
    ) -> Result<(), String> {
        if events.is_empty() {
            return Ok(());
        }
        let failure = Failure {
            error_type: SPLUNK_FAILED,
            code: error.code,
            message: &error.message,
            attempts: self.batch.attempts.saturating_add(1),
            ending_ms: self.registry.now(),
        };
        let failed: Vec<FailedEvent<'_>> = events
            .iter()
            .map(|e| FailedEvent {
                event_id: &e.key,
                arrival_ms: e.arrival_ms,
                data: &e.data,
            })
            .collect();
        let object = splunk_failed_object(stream, &d.s3, &failure, &failed)?;
        self.objects
            .put(object)
            .await
            .map_err(|e| format!("writing the failed events to the backup bucket: {e}"))
    }
}
