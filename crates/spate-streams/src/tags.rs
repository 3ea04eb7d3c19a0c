//! Stream tags: AddTagsToStream/RemoveTagsFromStream/ListTagsForStream and the ARN-addressed
//! TagResource/UntagResource/ListTagsForResource.

use crate::config::limits;
use crate::registry::{Kinesis, Stream};
use crate::validation as check;
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

pub(crate) fn validate_tags(
    v: &mut Validator,
    tags: Option<&std::collections::BTreeMap<String, String>>,
) {
    if let Some(tags) = tags {
        v.count(Some(tags.len()), "tags", 1, 200);
        for (key, value) in tags {
            v.length(Some(key), "tags.key", 1, 128)
                .length(Some(value), "tags.value", 0, 256);
        }
    }
}

impl Kinesis {
    pub async fn add_tags_to_stream(
        &self,
        input: AddTagsToStreamInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.tags, "tags");
        validate_tags(&mut v, input.tags.as_ref());
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.merge_tags(&stream, input.tags.unwrap_or_default())
    }

    fn merge_tags(
        &self,
        stream: &Stream,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<EmptyOutput, ApiError> {
        let mut record = stream.record.clone();
        record.tags.extend(tags);
        if record.tags.len() > limits::MAX_TAGS_PER_STREAM {
            return Err(invalid(format!(
                "Failed to add tags to stream {} under account {} because a given stream cannot have more than {} tags associated with it.",
                record.name,
                self.config.account_id,
                limits::MAX_TAGS_PER_STREAM
            )));
        }
        self.save(record)?;
        Ok(EmptyOutput {})
    }

    fn drop_tags(&self, stream: &Stream, keys: &[String]) -> Result<EmptyOutput, ApiError> {
        let mut record = stream.record.clone();
        for key in keys {
            record.tags.remove(key);
        }
        self.save(record)?;
        Ok(EmptyOutput {})
    }

    pub async fn remove_tags_from_stream(
        &self,
        input: RemoveTagsFromStreamInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.tag_keys, "tagKeys");
        v.count(input.tag_keys.as_ref().map(Vec::len), "tagKeys", 1, 50);
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.drop_tags(&stream, &input.tag_keys.unwrap_or_default())
    }

    pub fn list_tags_for_stream(
        &self,
        input: ListTagsForStreamInput,
    ) -> Result<ListTagsForStreamOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.length(
            input.exclusive_start_tag_key.as_deref(),
            "exclusiveStartTagKey",
            1,
            128,
        );
        v.range(input.limit, "limit", 1, 50);
        v.finish()?;
        let stream = self.lookup_named(&input)?;
        let limit = input.limit.unwrap_or(50) as usize;
        let after = input.exclusive_start_tag_key.as_deref();
        let mut tags: Vec<Tag> = stream
            .record
            .tags
            .iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
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

    fn resource_stream(&self, arn: Option<&str>) -> Result<Arc<Stream>, ApiError> {
        let arn = arn.unwrap_or_default();
        let name = self.name_from_arn(arn)?;
        self.lookup(Some(name), None)
    }

    fn validate_resource_arn(v: &mut Validator, arn: &Option<String>) {
        v.required(arn, "resourceARN");
        check::stream_arn(v, arn.as_deref(), "resourceARN");
    }

    pub async fn tag_resource(&self, input: TagResourceInput) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::validate_resource_arn(&mut v, &input.resource_arn);
        v.required(&input.tags, "tags");
        validate_tags(&mut v, input.tags.as_ref());
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.resource_stream(input.resource_arn.as_deref())?;
        self.merge_tags(&stream, input.tags.unwrap_or_default())
    }

    pub async fn untag_resource(&self, input: UntagResourceInput) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::validate_resource_arn(&mut v, &input.resource_arn);
        v.required(&input.tag_keys, "tagKeys");
        v.count(input.tag_keys.as_ref().map(Vec::len), "tagKeys", 1, 50);
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.resource_stream(input.resource_arn.as_deref())?;
        self.drop_tags(&stream, &input.tag_keys.unwrap_or_default())
    }

    pub fn list_tags_for_resource(
        &self,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let mut v = Validator::new();
        Self::validate_resource_arn(&mut v, &input.resource_arn);
        v.finish()?;
        let stream = self.resource_stream(input.resource_arn.as_deref())?;
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
