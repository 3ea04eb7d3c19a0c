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

/// The kinds of destination an update may change between (OpenSearch, Elasticsearch and
/// Serverless only update themselves, as on AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    S3,
    Http,
    Splunk,
    Redshift,
}

fn kind_of(d: &Destination) -> Option<Kind> {
    match d {
        Destination::S3 { .. } => Some(Kind::S3),
        Destination::Http(_) => Some(Kind::Http),
        Destination::Splunk(_) => Some(Kind::Splunk),
        Destination::Redshift(_) => Some(Kind::Redshift),
        Destination::OpenSearch(_) => None,
    }
}

/// The kind of the one destination update given (none: an update of nothing but the
/// version, which keeps the destination).
fn update_kind(i: &UpdateDestinationInput) -> Result<Option<Kind>, ApiError> {
    let given = [
        (
            i.extended_s3_destination_update.is_some() || i.s3_destination_update.is_some(),
            Kind::S3,
        ),
        (i.http_endpoint_destination_update.is_some(), Kind::Http),
        (i.splunk_destination_update.is_some(), Kind::Splunk),
        (i.redshift_destination_update.is_some(), Kind::Redshift),
    ];
    let mut kinds = given.iter().filter(|(g, _)| *g).map(|(_, k)| *k);
    let first = kinds.next();
    if kinds.next().is_some() {
        return Err(invalid(
            "Exactly one destination update is supported for a Firehose",
        ));
    }
    Ok(first)
}

/// A same-type update merges; a change of type (between S3, HTTP endpoint, Splunk and
/// Redshift) replaces the destination with the update, which must then be complete: AWS
/// merges nothing across types.
fn merge_update(
    current: &Destination,
    i: &UpdateDestinationInput,
    allow_http: bool,
) -> Result<Destination, ApiError> {
    if let Some(merged) = opensearch::update(current, i) {
        return merged;
    }
    let Some(kind) = update_kind(i)? else {
        return Ok(current.clone());
    };
    if kind_of(current) != Some(kind) {
        return replace(i, kind, allow_http);
    }
    if let Some(merged) = redshift::update(current, i) {
        return merged;
    }
    if let Some(merged) = splunk::update(current, i, allow_http) {
        return merged;
    }
    let s3_update = i
        .extended_s3_destination_update
        .as_ref()
        .or(i.s3_destination_update.as_ref());
    match (
        current,
        s3_update,
        i.http_endpoint_destination_update.as_deref(),
    ) {
        (Destination::S3 { extended, config }, Some(u), None) => {
            let config = destination::merge(config.clone(), u)?;
            let extended = *extended || i.extended_s3_destination_update.is_some();
            Ok(Destination::S3 { extended, config })
        }
        (Destination::Http(http), None, Some(u)) => {
            Ok(Destination::Http(endpoint::merge(http.clone(), u)?))
        }
        _ => Ok(current.clone()),
    }
}

/// The destination an update of another type makes. What the new type needs is checked on
/// the update first, so a missing member is named as missing rather than refused by the
/// members' own checks.
fn replace(
    i: &UpdateDestinationInput,
    kind: Kind,
    allow_http: bool,
) -> Result<Destination, ApiError> {
    match kind {
        Kind::S3 => {
            let update = i
                .extended_s3_destination_update
                .as_ref()
                .or(i.s3_destination_update.as_ref());
            let u = update
                .filter(|u| names_bucket(u))
                .ok_or_else(|| incomplete("the S3 update", "RoleARN and BucketARN"))?;
            let extended = i.extended_s3_destination_update.is_some();
            let config = destination::from_config(u)?;
            Ok(Destination::S3 { extended, config })
        }
        Kind::Http => {
            let u = i.http_endpoint_destination_update.as_deref().filter(|u| {
                let url = u.endpoint_configuration.as_ref();
                url.is_some_and(|e| text(&e.url).is_some())
                    && u.s3_update.as_ref().is_some_and(|b| names_bucket(b))
            });
            let u = u.ok_or_else(|| {
                incomplete(
                    "HttpEndpointDestinationUpdate",
                    "EndpointConfiguration with its Url, and S3Update with RoleARN and BucketARN",
                )
            })?;
            Ok(Destination::Http(endpoint::from_config(u)?))
        }
        Kind::Splunk => {
            let u = i.splunk_destination_update.as_deref().filter(|u| {
                text(&u.hec_endpoint).is_some()
                    && text(&u.hec_endpoint_type).is_some()
                    && u.s3_update.as_deref().is_some_and(names_bucket)
            });
            let u = u.ok_or_else(|| {
                incomplete(
                    "SplunkDestinationUpdate",
                    "HECEndpoint, HECEndpointType, and S3Update with RoleARN and BucketARN",
                )
            })?;
            Ok(Destination::Splunk(splunk::from_config(u, allow_http)?))
        }
        Kind::Redshift => {
            let u = i.redshift_destination_update.as_deref().filter(|u| {
                let table = u.copy_command.as_ref();
                text(&u.role_arn).is_some()
                    && text(&u.cluster_jdbcurl).is_some()
                    && table.is_some_and(|c| text(&c.data_table_name).is_some())
                    && u.s3_update.as_deref().is_some_and(names_bucket)
            });
            let u = u.ok_or_else(|| {
                incomplete(
                    "RedshiftDestinationUpdate",
                    "RoleARN, ClusterJDBCURL, CopyCommand with DataTableName, and S3Update with RoleARN and BucketARN",
                )
            })?;
            Ok(Destination::Redshift(redshift::from_config(u)?))
        }
    }
}

/// The update names the bucket a new destination writes to (or backs up to).
fn names_bucket(b: &S3Configuration) -> bool {
    text(&b.role_arn).is_some() && text(&b.bucket_arn).is_some()
}

fn incomplete(update: &str, members: &str) -> ApiError {
    invalid(format!(
        "Changing the destination type replaces the destination: {update} must give {members}."
    ))
}
