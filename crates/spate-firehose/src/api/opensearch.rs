//! Search destination configurations (Amazon OpenSearch Service, Elasticsearch, Amazon
//! OpenSearch Serverless): validated into [`OpenSearchDestination`] values, and updates merged
//! into the current one.

use super::check::{self, int, path, text};
use super::destination::{self as s3, buffering, logging, processing};
use crate::errors::invalid;
use crate::model::{
    Buffering, CloudWatchLogging, Destination, OpenSearchDestination, Rotation, SearchService,
};
use spate_wire::firehose::OpenSearchDestination as Config;
use spate_wire::validate::Validator;
use spate_wire::ApiError;

const DOMAIN_ARN_PATTERN: &str = r"arn:.*:es:[a-zA-Z0-9\-]+:\d{12}:domain/[a-z][-0-9a-z]{2,27}";

/// Where a configuration was given and as which service.
pub struct Given<'a> {
    pub config: &'a Config,
    pub service: SearchService,
    /// The member's name in validation messages (`elasticsearchDestinationConfiguration`).
    pub member: &'a str,
}

/// Checks the members; `create`: the create shape (RoleARN, IndexName and S3Configuration
/// required). `allow_http`: the operator accepts `http://` cluster endpoints.
pub fn validate(v: &mut Validator, given: &Given<'_>, create: bool, allow_http: bool) {
    let (c, parent) = (given.config, given.member);
    if create {
        v.required(&c.role_arn, &path(parent, "roleARN"));
        v.required(&c.index_name, &path(parent, "indexName"));
        v.required(&c.s3_configuration, &path(parent, "s3Configuration"));
    }
    v.pattern(
        text(&c.role_arn),
        &path(parent, "roleARN"),
        check::ROLE_ARN_PATTERN,
        check::role_arn,
    );
    validate_target(v, given, allow_http);
    let periods = ["NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth"];
    v.one_of(
        text(&c.index_rotation_period),
        &path(parent, "indexRotationPeriod"),
        &periods,
    );
    if let Some(h) = &c.buffering_hints {
        let at = path(parent, "bufferingHints");
        v.range(int(&h.size_in_mbs), &path(&at, "sizeInMBs"), 1, 100);
        v.range(
            int(&h.interval_in_seconds),
            &path(&at, "intervalInSeconds"),
            0,
            900,
        );
    }
    if let Some(r) = &c.retry_options {
        v.range(
            int(&r.duration_in_seconds),
            &path(parent, "retryOptions.durationInSeconds"),
            0,
            7200,
        );
    }
    v.one_of(
        text(&c.s3_backup_mode),
        &path(parent, "s3BackupMode"),
        &["FailedDocumentsOnly", "AllDocuments"],
    );
    s3::validate_shared(
        v,
        s3::Shared {
            s3_configuration: c.s3_configuration.as_deref(),
            s3_update: c.s3_update.as_deref(),
            processing: c.processing_configuration.as_deref(),
            logging: c.cloud_watch_logging_options.as_deref(),
            secrets_manager: None,
        },
        parent,
    );
    if let Some(d) = &c.document_id_options {
        let at = path(parent, "documentIdOptions.defaultDocumentIdFormat");
        v.required(&d.default_document_id_format, &at);
        v.one_of(
            text(&d.default_document_id_format),
            &at,
            &["FIREHOSE_DEFAULT", "NO_DOCUMENT_ID"],
        );
    }
}

/// Where the cluster is and what the documents are called.
fn validate_target(v: &mut Validator, given: &Given<'_>, allow_http: bool) {
    let (c, parent) = (given.config, given.member);
    let (endpoint, endpoint_member) = match given.service {
        SearchService::Serverless => (text(&c.collection_endpoint), "collectionEndpoint"),
        _ => (text(&c.cluster_endpoint), "clusterEndpoint"),
    };
    let domain = text(&c.domain_arn);
    v.length(domain, &path(parent, "domainARN"), 1, 512);
    v.pattern(
        domain,
        &path(parent, "domainARN"),
        DOMAIN_ARN_PATTERN,
        |d| d.starts_with("arn:") && d.contains(":es:") && d.contains(":domain/"),
    );
    v.length(endpoint, &path(parent, endpoint_member), 1, 512);
    let allowed = if allow_http {
        endpoint_http
    } else {
        endpoint_https
    };
    v.pattern(
        endpoint,
        &path(parent, endpoint_member),
        "https:.*",
        allowed,
    );
    v.length(text(&c.index_name), &path(parent, "indexName"), 1, 80);
    v.length(text(&c.type_name), &path(parent, "typeName"), 0, 100);
}

fn endpoint_https(url: &str) -> bool {
    url.starts_with("https:")
}

fn endpoint_http(url: &str) -> bool {
    endpoint_https(url) || url.starts_with("http://")
}

/// A new destination from a create shape (validated already).
pub fn from_config(c: &Config, service: SearchService) -> Result<OpenSearchDestination, ApiError> {
    let s3 = match &c.s3_configuration {
        Some(b) => s3::from_config(b)?,
        None => crate::model::S3Destination::default(),
    };
    let serverless = service == SearchService::Serverless;
    let start = OpenSearchDestination {
        service,
        cluster_endpoint: None,
        domain_arn: None,
        index_name: String::new(),
        type_name: None,
        // Serverless indexes have no rotation and take no document ids from Firehose.
        rotation: match serverless {
            true => Rotation::NoRotation,
            false => Rotation::OneDay,
        },
        buffering: Buffering::default(),
        retry_duration_secs: OpenSearchDestination::DEFAULT_RETRY_SECS,
        backup_all: text(&c.s3_backup_mode) == Some("AllDocuments"),
        s3,
        processing: None,
        logging: CloudWatchLogging::default(),
        role_arn: None,
        firehose_document_ids: !serverless,
    };
    merge(start, c)
}

/// `d` with every member `c` gives replaced; then the checks beyond the shapes.
pub fn merge(mut d: OpenSearchDestination, c: &Config) -> Result<OpenSearchDestination, ApiError> {
    if d.service == SearchService::Serverless {
        return merge_serverless(d, c);
    }
    if let Some(endpoint) = text(&c.cluster_endpoint) {
        d.cluster_endpoint = Some(endpoint.trim_end_matches('/').to_string());
        d.domain_arn = None;
    }
    if let Some(domain) = text(&c.domain_arn) {
        d.domain_arn = Some(domain.to_string());
        d.cluster_endpoint = None;
    }
    if let Some(type_name) = text(&c.type_name) {
        d.type_name = (!type_name.is_empty()).then(|| type_name.to_string());
    }
    if let Some(period) = text(&c.index_rotation_period).and_then(Rotation::parse) {
        d.rotation = period;
    }
    if let Some(format) = c
        .document_id_options
        .as_ref()
        .and_then(|o| text(&o.default_document_id_format))
    {
        d.firehose_document_ids = format == "FIREHOSE_DEFAULT";
    }
    merge_common(d, c)
}

/// OpenSearch Serverless: its shape's members only (the others are not in it, and ignored).
fn merge_serverless(
    mut d: OpenSearchDestination,
    c: &Config,
) -> Result<OpenSearchDestination, ApiError> {
    if let Some(endpoint) = text(&c.collection_endpoint) {
        d.cluster_endpoint = Some(endpoint.trim_end_matches('/').to_string());
    }
    merge_common(d, c)
}

/// The members every search service's shape has.
fn merge_common(
    mut d: OpenSearchDestination,
    c: &Config,
) -> Result<OpenSearchDestination, ApiError> {
    if let Some(index) = text(&c.index_name) {
        d.index_name = index.to_string();
    }
    if let Some(h) = &c.buffering_hints {
        d.buffering = buffering(d.buffering, h);
    }
    if let Some(seconds) = c
        .retry_options
        .as_ref()
        .and_then(|r| int(&r.duration_in_seconds))
    {
        d.retry_duration_secs = seconds;
    }
    if let Some(update) = &c.s3_update {
        d.s3 = s3::merge(d.s3, update)?;
    }
    if let Some(p) = &c.processing_configuration {
        d.processing = Some(processing(p));
    }
    if let Some(l) = &c.cloud_watch_logging_options {
        d.logging = logging(l);
    }
    if let Some(role) = text(&c.role_arn) {
        d.role_arn = Some(role.to_string());
    }
    check_semantics(&d)?;
    Ok(d)
}

fn check_semantics(d: &OpenSearchDestination) -> Result<(), ApiError> {
    if d.cluster_endpoint.is_none() {
        return Err(invalid(match (d.service, &d.domain_arn) {
            (SearchService::Serverless, _) => "Spate reaches OpenSearch Serverless collections by CollectionEndpoint, which must be provided.",
            (_, Some(_)) => "Spate reaches search clusters by ClusterEndpoint: a DomainARN names an Amazon OpenSearch Service or Elasticsearch domain, which there is none of here; see docs/compatibility.md.",
            (_, None) => "Exactly one of DomainARN or ClusterEndpoint must be provided.",
        }));
    }
    s3::check_processing_without_partitioning(d.processing.as_ref())?;
    s3::check_semantics(&d.s3)
}

/// The search-service update `i` gives, if any, with the service it is for.
fn search_update(
    i: &spate_wire::firehose::UpdateDestinationInput,
) -> Option<(&Config, SearchService)> {
    [
        (
            i.amazonopensearchservice_destination_update.as_deref(),
            SearchService::OpenSearch,
        ),
        (
            i.elasticsearch_destination_update.as_deref(),
            SearchService::Elasticsearch,
        ),
        (
            i.amazon_open_search_serverless_destination_update
                .as_deref(),
            SearchService::Serverless,
        ),
    ]
    .into_iter()
    .find_map(|(update, service)| update.map(|u| (u, service)))
}

/// UpdateDestination where a search service is involved (`None`: none is): an update for the
/// current destination's service merges; changing to or from a search service is refused, as
/// AWS refuses it.
pub fn update(
    current: &Destination,
    i: &spate_wire::firehose::UpdateDestinationInput,
) -> Option<Result<Destination, ApiError>> {
    let update = search_update(i);
    let others = i.s3_destination_update.is_some()
        || i.extended_s3_destination_update.is_some()
        || i.http_endpoint_destination_update.is_some()
        || i.splunk_destination_update.is_some()
        || i.redshift_destination_update.is_some();
    // AWS's rule (UpdateDestination's reference); Elasticsearch and Serverless follow it too.
    let change = || {
        invalid("Switching between Amazon OpenSearch Service and other services is not supported. For an Amazon OpenSearch Service destination, you can only update to another Amazon OpenSearch Service destination.")
    };
    match (current, update) {
        (Destination::OpenSearch(os), Some((u, service))) if !others && service == os.service => {
            Some(merge(os.clone(), u).map(Destination::OpenSearch))
        }
        (Destination::OpenSearch(os), None) if !others => {
            Some(Ok(Destination::OpenSearch(os.clone())))
        }
        (Destination::OpenSearch(_), _) | (_, Some(_)) => Some(Err(change())),
        _ => None,
    }
}
