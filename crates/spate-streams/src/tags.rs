//! Stream tags: AddTagsToStream/RemoveTagsFromStream/ListTagsForStream and the ARN-addressed
//! TagResource/UntagResource/ListTagsForResource.

use crate::config::limits;
use crate::errors::invalid;
use crate::model::{StreamRef, Tags};
use crate::streams::Streams;
use spate_wire::kinesis::{ListTagsForResourceOutput, ListTagsForStreamOutput, Tag};
use spate_wire::ApiError;

impl Streams {
    pub async fn add_tags(&self, stream: &StreamRef, tags: Tags) -> Result<(), ApiError> {
        let store = self.store();
        let _guard = store.control.lock().await;
        let stream = store.resolve(stream)?;
        let mut record = stream.record.clone();
        record.tags.extend(tags);
        if record.tags.len() > limits::MAX_TAGS_PER_STREAM {
            return Err(invalid(format!(
                "Failed to add tags to stream {} under account {} because a given stream cannot have more than {} tags associated with it.",
                record.name,
                store.config.account_id,
                limits::MAX_TAGS_PER_STREAM
            )));
        }
        store.save(record).await?;
        Ok(())
    }

    pub async fn remove_tags(&self, stream: &StreamRef, keys: &[String]) -> Result<(), ApiError> {
        let store = self.store();
        let _guard = store.control.lock().await;
        let stream = store.resolve(stream)?;
        let mut record = stream.record.clone();
        for key in keys {
            record.tags.remove(key);
        }
        store.save(record).await?;
        Ok(())
    }

    pub fn list_tags(
        &self,
        stream: &StreamRef,
        exclusive_start: Option<&str>,
        limit: usize,
    ) -> Result<ListTagsForStreamOutput, ApiError> {
        let stream = self.store().resolve(stream)?;
        let mut tags: Vec<Tag> = stream
            .record
            .tags
            .iter()
            .filter(|(k, _)| exclusive_start.is_none_or(|a| k.as_str() > a))
            .take(limit + 1)
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let has_more = tags.len() > limit;
        tags.truncate(limit);
        Ok(ListTagsForStreamOutput {
            tags,
            has_more_tags: has_more,
        })
    }

    pub fn list_resource_tags(
        &self,
        stream: &StreamRef,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let stream = self.store().resolve(stream)?;
        let tags = stream
            .record
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        Ok(ListTagsForResourceOutput { tags })
    }
}
