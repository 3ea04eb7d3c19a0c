//! Delivery of a Kinesis channel's buffer: its objects (see `delivery/channel.rs`) built off
//! the async threads, then written, the delivered object first.

use super::send::opened;
use super::Worker;
use crate::channels::ChannelSettings;
use crate::delivery::channel::{channel_objects, ChannelRecord};
use crate::delivery::process::KinesisMetadata;
use crate::model::DeliveryStreamRecord;

impl Worker {
    pub(super) async fn deliver_channel(
        &mut self,
        stream: &DeliveryStreamRecord,
        channel: &ChannelSettings,
    ) -> Result<(), String> {
        let (record, seal, settings) = (stream.clone(), self.seal.clone(), channel.clone());
        let objects = self
            .with_batches(move |batches| {
                let opened = opened(&seal, &record, batches)?;
                let keys = batches
                    .iter()
                    .flat_map(|b| b.records())
                    .map(|r| r.partition_key);
                let records: Vec<ChannelRecord<'_>> = opened
                    .iter()
                    .zip(keys)
                    .map(|((_, arrival_ms, data), key)| ChannelRecord {
                        arrival_ms: *arrival_ms,
                        data: data.as_ref(),
                        kinesis: KinesisMetadata::decode(key),
                    })
                    .collect();
                channel_objects(&settings, &records)
            })
            .await??;
        for object in objects {
            let key = object.key.clone();
            self.objects
                .put(object)
                .await
                .map_err(|e| format!("writing {key}: {e}"))?;
        }
        Ok(())
    }
}
