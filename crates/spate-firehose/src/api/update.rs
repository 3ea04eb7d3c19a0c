//! UpdateDestination: the update validated, then merged into the current destination (a
//! same-type update merges; S3 and HTTP endpoints may replace each other).

use super::check::{self, text};
use super::control::{name_member, not_yet};
use super::destination;
use super::endpoint;
use super::opensearch;
use super::redshift;
use super::splunk;
use crate::errors::invalid;
use crate::model::{Destination, SearchService};
use crate::service::Firehose;
use spate_wire::firehose::*;
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::sync::Arc;

pub async fn update_destination(
    f: &Arc<Firehose>,
    i: UpdateDestinationInput,
) -> Result<EmptyOutput, ApiError> {
    validate_update(&i, f.config().allow_http_endpoints)?;
    let others = [
        i.snowflake_destination_update.is_some(),
        i.iceberg_destination_update.is_some(),
    ];
    if others.into_iter().any(|g| g) {
        return Err(not_yet("A Snowflake or Iceberg destination"));
    }
    let name = check::name_of(&i.delivery_stream_name)?;
    let version = text(&i.current_delivery_stream_version_id).unwrap_or_default();
    let id = text(&i.destination_id).unwrap_or_default();
    let allow_http = f.config().allow_http_endpoints;
    f.update_destination(&name, version, id, |current| {
        merge_update(current, &i, allow_http)
    })
    .await?;
    Ok(EmptyOutput {})
}

fn validate_update(i: &UpdateDestinationInput, allow_http: bool) -> Result<(), ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    let (version, member) = (
        text(&i.current_delivery_stream_version_id),
        "currentDeliveryStreamVersionId",
    );
    v.required(&i.current_delivery_stream_version_id, member);
    v.length(version, member, 1, 50);
    v.pattern(version, member, "[0-9]+", |s| {
        s.bytes().all(|b| b.is_ascii_digit())
    });
    v.required(&i.destination_id, "destinationId");
    v.length(text(&i.destination_id), "destinationId", 1, 100);
    if let Some(u) = &i.s3_destination_update {
        destination::validate(&mut v, u, "s3DestinationUpdate", false);
    }
    if let Some(u) = &i.extended_s3_destination_update {
        destination::validate(&mut v, u, "extendedS3DestinationUpdate", false);
    }
    if let Some(u) = &i.http_endpoint_destination_update {
        endpoint::validate(
            &mut v,
            u,
            "httpEndpointDestinationUpdate",
            false,
            allow_http,
        );
    }
    let search_updates = [
        (
            &i.amazonopensearchservice_destination_update,
            SearchService::OpenSearch,
            "amazonopensearchserviceDestinationUpdate",
        ),
        (
            &i.elasticsearch_destination_update,
            SearchService::Elasticsearch,
            "elasticsearchDestinationUpdate",
        ),
        (
            &i.amazon_open_search_serverless_destination_update,
            SearchService::Serverless,
            "amazonOpenSearchServerlessDestinationUpdate",
        ),
    ];
    if let Some(u) = &i.redshift_destination_update {
        redshift::validate(&mut v, u, "redshiftDestinationUpdate", false);
    }
    if let Some(u) = &i.splunk_destination_update {
        splunk::validate(&mut v, u, "splunkDestinationUpdate", false);
    }
    for (update, service, member) in search_updates {
        if let Some(config) = update.as_deref() {
            let given = opensearch::Given {
                config,
                service,
                member,
            };
            opensearch::validate(&mut v, &given, false, allow_http);
        }
    }
    v.finish()
}

/// A same-type update merges; changing between S3 and an HTTP endpoint is not supported yet.
fn merge_update(
    current: &Destination,
    i: &UpdateDestinationInput,
    allow_http: bool,
) -> Result<Destination, ApiError> {
    let s3_update = i
        .extended_s3_destination_update
        .as_ref()
        .or(i.s3_destination_update.as_ref());
    if let Some(merged) = opensearch::update(current, i) {
        return merged;
    }
    if let Some(merged) = redshift::update(current, i) {
        return merged;
    }
    if let Some(merged) = splunk::update(current, i, allow_http) {
        return merged;
    }
    let http_update = i.http_endpoint_destination_update.as_deref();
    match (current, s3_update, http_update) {
        (Destination::S3 { extended, config }, update, None) => {
            let config = match update {
                Some(u) => destination::merge(config.clone(), u)?,
                None => config.clone(),
            };
            let extended = *extended || i.extended_s3_destination_update.is_some();
            Ok(Destination::S3 { extended, config })
        }
        (Destination::Http(http), None, Some(u)) => {
            Ok(Destination::Http(endpoint::merge(http.clone(), u)?))
        }
        (Destination::Http(http), None, None) => Ok(Destination::Http(http.clone())),
        // A type change replaces the destination: the update must be complete.
        (Destination::S3 { .. }, None, Some(u)) => {
            let http = endpoint::from_config(u)?;
            if http.url.is_empty() || http.s3.role_arn.is_empty() || http.s3.bucket_arn.is_empty() {
                return Err(invalid("Changing the destination type replaces the destination: HttpEndpointDestinationUpdate must give EndpointConfiguration with its Url, and S3Update with RoleARN and BucketARN."));
            }
            Ok(Destination::Http(http))
        }
        (Destination::Http(_), Some(u), None) => {
            if text(&u.role_arn).is_none() || text(&u.bucket_arn).is_none() {
                return Err(invalid("Changing the destination type replaces the destination: the S3 update must give RoleARN and BucketARN."));
            }
            let extended = i.extended_s3_destination_update.is_some();
            Ok(Destination::S3 {
                extended,
                config: destination::from_config(u)?,
            })
        }
        _ => Err(invalid(
            "Exactly one destination update is supported for a Firehose",
        )),
    }
}
