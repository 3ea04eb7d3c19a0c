//! The control-plane operations.

use super::check::{self, int, path, text};
use super::describe::description;
use super::destination;
use super::endpoint;
use super::opensearch;
use super::redshift;
use super::splunk;
use crate::control::{CreateDeliveryStream, Tags};
use crate::errors::invalid;
use crate::model::{Destination, KeyType, SearchService, Source};
use crate::service::Firehose;
use spate_wire::firehose::*;
use spate_wire::validate::{render_list, Validator};
use spate_wire::{ApiError, List, Str, Struct};
use std::sync::Arc;

const STREAM_TYPES: [&str; 4] = [
    "DirectPut",
    "KinesisStreamAsSource",
    "MSKAsSource",
    "DatabaseAsSource",
];

pub(super) fn name_member(v: &mut Validator, name: &Option<Str>) {
    v.required(name, "deliveryStreamName");
    check::stream_name(v, text(name), "deliveryStreamName");
}

fn validate_tags(v: &mut Validator, tags: &Option<List<Struct<Tag>>>, member: &str) {
    let Some(list) = tags else { return };
    v.count(
        Some(list.0.len()),
        || render_list(list.0.iter().map(|_| "Tag")),
        member,
        1,
        50,
    );
    for (i, tag) in list.0.iter().enumerate() {
        let at = format!("{member}.{}.member", i + 1);
        v.required(&tag.key, &path(&at, "key"));
        v.length(text(&tag.key), &path(&at, "key"), 1, 128);
        v.pattern(
            text(&tag.key),
            &path(&at, "key"),
            check::TAG_KEY_PATTERN,
            check::tag_key,
        );
        v.length(text(&tag.value), &path(&at, "value"), 0, 256);
        v.pattern(
            text(&tag.value),
            &path(&at, "value"),
            check::TAG_VALUE_PATTERN,
            check::tag_text,
        );
    }
}

fn tags_of(tags: &Option<List<Struct<Tag>>>) -> Tags {
    let list = tags.iter().flat_map(|l| l.0.iter());
    list.filter_map(|t| {
        Some((
            text(&t.key)?.to_string(),
            text(&t.value).map(str::to_string),
        ))
    })
    .collect()
}

fn validate_sse(
    v: &mut Validator,
    input: &Option<Struct<DeliveryStreamEncryptionConfigurationInput>>,
    at: &str,
) {
    let Some(sse) = input else { return };
    v.required(&sse.key_type, &path(at, "keyType"));
    v.one_of(text(&sse.key_type), &path(at, "keyType"), &KeyType::WIRE);
    v.length(text(&sse.key_arn), &path(at, "keyARN"), 1, 512);
    let arn = text(&sse.key_arn);
    v.pattern(arn, &path(at, "keyARN"), check::SSE_KEY_ARN_PATTERN, |a| {
        check::kms_key_arn(a, false)
    });
}

/// The key an encryption input names; AWS_OWNED_CMK takes no ARN, CUSTOMER_MANAGED_CMK needs one.
fn sse_key(
    input: Option<&DeliveryStreamEncryptionConfigurationInput>,
) -> Result<(KeyType, Option<String>), ApiError> {
    let key_type = input
        .and_then(|i| text(&i.key_type))
        .and_then(KeyType::parse)
        .unwrap_or(KeyType::AwsOwned);
    let arn = input.and_then(|i| text(&i.key_arn)).map(str::to_string);
    match (key_type, &arn) {
        (KeyType::CustomerManaged, None) => Err(invalid(
            "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.",
        )),
        (KeyType::AwsOwned, Some(_)) => Err(invalid(
            "KeyARN must not be specified when KeyType is AWS_OWNED_CMK.",
        )),
        _ => Ok((key_type, arn)),
    }
}

fn validate_create(i: &CreateDeliveryStreamInput, allow_http: bool) -> Result<(), ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.one_of(
        text(&i.delivery_stream_type),
        "deliveryStreamType",
        &STREAM_TYPES,
    );
    if let Some(d) = &i.direct_put_source_configuration {
        let member = "directPutSourceConfiguration.throughputHintInMBs";
        v.required(&d.throughput_hint_in_mbs, member);
        v.range(int(&d.throughput_hint_in_mbs), member, 1, 100);
    }
    if let Some(k) = &i.kinesis_stream_source_configuration {
        let at = "kinesisStreamSourceConfiguration";
        let (arn, role) = (text(&k.kinesis_stream_arn), text(&k.role_arn));
        v.required(&k.kinesis_stream_arn, &path(at, "kinesisStreamARN"));
        v.length(arn, &path(at, "kinesisStreamARN"), 1, 512);
        v.pattern(
            arn,
            &path(at, "kinesisStreamARN"),
            check::KINESIS_STREAM_ARN_PATTERN,
            check::kinesis_stream_arn,
        );
        v.required(&k.role_arn, &path(at, "roleARN"));
        v.pattern(
            role,
            &path(at, "roleARN"),
            check::ROLE_ARN_PATTERN,
            check::role_arn,
        );
    }
    validate_sse(
        &mut v,
        &i.delivery_stream_encryption_configuration_input,
        "deliveryStreamEncryptionConfigurationInput",
    );
    if let Some(s3) = &i.s3_destination_configuration {
        destination::validate(&mut v, s3, "s3DestinationConfiguration", true);
    }
    if let Some(s3) = &i.extended_s3_destination_configuration {
        destination::validate(&mut v, s3, "extendedS3DestinationConfiguration", true);
    }
    if let Some(http) = &i.http_endpoint_destination_configuration {
        let at = "httpEndpointDestinationConfiguration";
        endpoint::validate(&mut v, http, at, true, allow_http);
    }
    for given in search_configurations(i) {
        opensearch::validate(&mut v, &given, true, allow_http);
    }
    if let Some(c) = &i.splunk_destination_configuration {
        splunk::validate(&mut v, c, "splunkDestinationConfiguration", true);
    }
    if let Some(c) = &i.redshift_destination_configuration {
        redshift::validate(&mut v, c, "redshiftDestinationConfiguration", true);
    }
    validate_tags(&mut v, &i.tags, "tags");
    v.finish()
}

/// The search-service configurations given (one, in a valid request).
fn search_configurations(i: &CreateDeliveryStreamInput) -> Vec<opensearch::Given<'_>> {
    [
        (
            i.amazonopensearchservice_destination_configuration
                .as_deref(),
            SearchService::OpenSearch,
            "amazonopensearchserviceDestinationConfiguration",
        ),
        (
            i.elasticsearch_destination_configuration.as_deref(),
            SearchService::Elasticsearch,
            "elasticsearchDestinationConfiguration",
        ),
        (
            i.amazon_open_search_serverless_destination_configuration
                .as_deref(),
            SearchService::Serverless,
            "amazonOpenSearchServerlessDestinationConfiguration",
        ),
    ]
    .into_iter()
    .filter_map(|(config, service, member)| {
        config.map(|config| opensearch::Given {
            config,
            service,
            member,
        })
    })
    .collect()
}

/// The destinations of the model Spate does not deliver to yet, by the name AWS gives them.
fn unsupported_destination(i: &CreateDeliveryStreamInput) -> Option<&'static str> {
    [
        (i.snowflake_destination_configuration.is_some(), "Snowflake"),
        (
            i.iceberg_destination_configuration.is_some(),
            "Apache Iceberg",
        ),
    ]
    .into_iter()
    .find_map(|(given, name)| given.then_some(name))
}

fn destination_count(i: &CreateDeliveryStreamInput) -> usize {
    let supported = [
        i.s3_destination_configuration.is_some(),
        i.extended_s3_destination_configuration.is_some(),
        i.http_endpoint_destination_configuration.is_some(),
        i.splunk_destination_configuration.is_some(),
        i.redshift_destination_configuration.is_some(),
    ];
    supported.into_iter().filter(|g| *g).count()
        + search_configurations(i).len()
        + usize::from(unsupported_destination(i).is_some())
}

pub(super) fn not_yet(what: &str) -> ApiError {
    invalid(format!(
        "{what} is not supported by Spate yet; see docs/compatibility.md."
    ))
}

fn source_of(f: &Firehose, i: &CreateDeliveryStreamInput) -> Result<Source, ApiError> {
    match text(&i.delivery_stream_type).unwrap_or("DirectPut") {
        "DirectPut" => {
            if i.kinesis_stream_source_configuration.is_some() {
                return Err(invalid("KinesisSourceStreamConfig is only applicable for KinesisStreamAsSource stream type"));
            }
            let hint = i.direct_put_source_configuration.as_ref();
            Ok(Source::DirectPut {
                throughput_hint_mb: hint.and_then(|d| int(&d.throughput_hint_in_mbs)),
            })
        }
        "KinesisStreamAsSource" => kinesis_source(f, i),
        other => Err(not_yet(&format!("The {other} delivery stream type"))),
    }
}

/// A KinesisStreamAsSource source: the stream must exist on this server; reading starts now.
fn kinesis_source(f: &Firehose, i: &CreateDeliveryStreamInput) -> Result<Source, ApiError> {
    let config = i.kinesis_stream_source_configuration.as_ref().ok_or_else(|| {
        invalid("KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource delivery stream type.")
    })?;
    if i.direct_put_source_configuration.is_some()
        || i.delivery_stream_encryption_configuration_input.is_some()
    {
        return Err(invalid(
            "DirectPutSourceConfiguration and DeliveryStreamEncryptionConfigurationInput apply to DirectPut delivery streams only.",
        ));
    }
    let stream_arn = text(&config.kinesis_stream_arn)
        .unwrap_or_default()
        .to_string();
    let role_arn = text(&config.role_arn).unwrap_or_default().to_string();
    f.check_kinesis_stream(&stream_arn)?;
    Ok(Source::KinesisStream {
        stream_arn,
        role_arn,
        start_ms: f.registry.now(),
    })
}

fn new_destination(
    i: &CreateDeliveryStreamInput,
    allow_http: bool,
) -> Result<Destination, ApiError> {
    if let Some(c) = &i.extended_s3_destination_configuration {
        let config = destination::from_config(c)?;
        return Ok(Destination::S3 {
            extended: true,
            config,
        });
    }
    if let Some(c) = &i.s3_destination_configuration {
        let config = destination::from_config(c)?;
        return Ok(Destination::S3 {
            extended: false,
            config,
        });
    }
    if let Some(c) = &i.splunk_destination_configuration {
        return Ok(Destination::Splunk(splunk::from_config(c, allow_http)?));
    }
    if let Some(c) = &i.redshift_destination_configuration {
        return Ok(Destination::Redshift(redshift::from_config(c)?));
    }
    if let Some(given) = search_configurations(i).first() {
        let d = opensearch::from_config(given.config, given.service)?;
        return Ok(Destination::OpenSearch(d));
    }
    match &i.http_endpoint_destination_configuration {
        Some(c) => Ok(Destination::Http(endpoint::from_config(c)?)),
        None => Err(invalid(
            "Exactly one destination configuration is supported for a Firehose",
        )),
    }
}

pub async fn create(
    f: &Arc<Firehose>,
    i: CreateDeliveryStreamInput,
) -> Result<CreateDeliveryStreamOutput, ApiError> {
    validate_create(&i, f.config().allow_http_endpoints)?;
    let name = check::name_of(&i.delivery_stream_name)?;
    if destination_count(&i) != 1 {
        return Err(invalid(
            "Exactly one destination configuration is supported for a Firehose",
        ));
    }
    if let Some(which) = unsupported_destination(&i) {
        return Err(not_yet(&format!("The {which} destination")));
    }
    let source = source_of(f, &i)?;
    let destination = new_destination(&i, f.config().allow_http_endpoints)?;
    let sse = match &i.delivery_stream_encryption_configuration_input {
        Some(input) => Some(sse_key(Some(input))?),
        None => None,
    };
    let request = CreateDeliveryStream {
        name,
        source,
        destination,
        tags: tags_of(&i.tags),
        sse,
    };
    let arn = f.create(request).await?;
    Ok(CreateDeliveryStreamOutput {
        delivery_stream_arn: arn,
    })
}

pub async fn delete(
    f: &Arc<Firehose>,
    i: DeleteDeliveryStreamInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.finish()?;
    f.delete(&check::name_of(&i.delivery_stream_name)?).await?;
    Ok(EmptyOutput {})
}

pub async fn describe(
    f: &Arc<Firehose>,
    i: DescribeDeliveryStreamInput,
) -> Result<DescribeDeliveryStreamOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.range(int(&i.limit), "limit", 1, 10000);
    v.length(
        text(&i.exclusive_start_destination_id),
        "exclusiveStartDestinationId",
        1,
        100,
    );
    v.finish()?;
    let name = check::name_of(&i.delivery_stream_name)?;
    let stream = f.describe(&name)?;
    let status = f.delivery_status(name.as_str());
    let failure = status.failure.or(status.source_failure);
    Ok(DescribeDeliveryStreamOutput {
        delivery_stream_description: description(f, &stream, failure),
    })
}

pub async fn list(
    f: &Arc<Firehose>,
    i: ListDeliveryStreamsInput,
) -> Result<ListDeliveryStreamsOutput, ApiError> {
    let mut v = Validator::new();
    v.range(int(&i.limit), "limit", 1, 10000);
    v.one_of(
        text(&i.delivery_stream_type),
        "deliveryStreamType",
        &STREAM_TYPES,
    );
    check::stream_name(
        &mut v,
        text(&i.exclusive_start_delivery_stream_name),
        "exclusiveStartDeliveryStreamName",
    );
    v.finish()?;
    let limit = int(&i.limit).unwrap_or(10) as usize;
    let (names, more) = f.list(
        limit,
        text(&i.delivery_stream_type),
        text(&i.exclusive_start_delivery_stream_name),
    );
    Ok(ListDeliveryStreamsOutput {
        delivery_stream_names: names,
        has_more_delivery_streams: more,
    })
}

pub async fn tag(f: &Arc<Firehose>, i: TagDeliveryStreamInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.required(&i.tags, "tags");
    validate_tags(&mut v, &i.tags, "tags");
    v.finish()?;
    f.tag(&check::name_of(&i.delivery_stream_name)?, tags_of(&i.tags))
        .await?;
    Ok(EmptyOutput {})
}

pub async fn untag(
    f: &Arc<Firehose>,
    i: UntagDeliveryStreamInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.required(&i.tag_keys, "tagKeys");
    if let Some(keys) = &i.tag_keys {
        v.count(
            Some(keys.0.len()),
            || render_list(keys.0.iter().map(|k| k.as_str())),
            "tagKeys",
            1,
            50,
        );
        let texts: Vec<&str> = keys.0.iter().map(|k| k.as_str()).collect();
        v.element_lengths(Some(&texts[..]), "tagKeys", 1, 128);
    }
    v.finish()?;
    let keys: Vec<String> = i
        .tag_keys
        .iter()
        .flat_map(|l| l.0.iter())
        .map(|k| k.0.clone())
        .collect();
    f.untag(&check::name_of(&i.delivery_stream_name)?, &keys)
        .await?;
    Ok(EmptyOutput {})
}

pub async fn list_tags(
    f: &Arc<Firehose>,
    i: ListTagsForDeliveryStreamInput,
) -> Result<ListTagsForDeliveryStreamOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.length(
        text(&i.exclusive_start_tag_key),
        "exclusiveStartTagKey",
        1,
        128,
    );
    v.range(int(&i.limit), "limit", 1, 50);
    v.finish()?;
    let limit = int(&i.limit).unwrap_or(50) as usize;
    let name = check::name_of(&i.delivery_stream_name)?;
    let (tags, more) = f.list_tags(&name, text(&i.exclusive_start_tag_key), limit)?;
    let tags = tags
        .into_iter()
        .map(|(key, value)| TagOut { key, value })
        .collect();
    Ok(ListTagsForDeliveryStreamOutput {
        tags,
        has_more_tags: more,
    })
}

pub async fn start_encryption(
    f: &Arc<Firehose>,
    i: StartDeliveryStreamEncryptionInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    validate_sse(
        &mut v,
        &i.delivery_stream_encryption_configuration_input,
        "deliveryStreamEncryptionConfigurationInput",
    );
    v.finish()?;
    let key = sse_key(i.delivery_stream_encryption_configuration_input.as_deref())?;
    f.set_encryption(&check::name_of(&i.delivery_stream_name)?, Some(key))
        .await?;
    Ok(EmptyOutput {})
}

pub async fn stop_encryption(
    f: &Arc<Firehose>,
    i: DeliveryStreamNameInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    name_member(&mut v, &i.delivery_stream_name);
    v.finish()?;
    f.set_encryption(&check::name_of(&i.delivery_stream_name)?, None)
        .await?;
    Ok(EmptyOutput {})
}
