//! HTTP endpoint destination configurations: validated into [`HttpDestination`] values, and
//! updates merged into the current one.

use super::check::{self, flag, int, path, text};
use super::destination::{self as s3, buffering, logging, processing};
use crate::errors::invalid;
use crate::model::{Buffering, CloudWatchLogging, HttpDestination, S3Destination};
use spate_wire::firehose::{HttpEndpointConfiguration, HttpEndpointDestination};
use spate_wire::validate::{render_list, Validator};
use spate_wire::ApiError;

const URL_PATTERN: &str = "https://.*";

/// Checks the members; `create`: the create shape (EndpointConfiguration and S3Configuration
/// required). `allow_http`: the operator accepts `http://` URLs.
pub fn validate(
    v: &mut Validator,
    c: &HttpEndpointDestination,
    parent: &str,
    create: bool,
    allow_http: bool,
) {
    let endpoint_member = path(parent, "endpointConfiguration");
    if create {
        v.required(&c.endpoint_configuration, &endpoint_member);
        v.required(&c.s3_configuration, &path(parent, "s3Configuration"));
    }
    if let Some(e) = &c.endpoint_configuration {
        validate_endpoint(v, e, &endpoint_member, allow_http);
    }
    if let Some(h) = &c.buffering_hints {
        let at = path(parent, "bufferingHints");
        v.range(int(&h.size_in_mbs), &path(&at, "sizeInMBs"), 1, 64);
        v.range(
            int(&h.interval_in_seconds),
            &path(&at, "intervalInSeconds"),
            0,
            900,
        );
    }
    if let Some(l) = &c.cloud_watch_logging_options {
        s3::validate_logging(v, l, &path(parent, "cloudWatchLoggingOptions"));
    }
    validate_request(v, c, &path(parent, "requestConfiguration"));
    if let Some(p) = &c.processing_configuration {
        s3::validate_processing(v, p, &path(parent, "processingConfiguration"));
    }
    let role = text(&c.role_arn);
    v.pattern(
        role,
        &path(parent, "roleARN"),
        check::ROLE_ARN_PATTERN,
        check::role_arn,
    );
    if let Some(r) = &c.retry_options {
        let member = path(parent, "retryOptions.durationInSeconds");
        v.range(int(&r.duration_in_seconds), &member, 0, 7200);
    }
    let modes = ["FailedDataOnly", "AllData"];
    v.one_of(
        text(&c.s3_backup_mode),
        &path(parent, "s3BackupMode"),
        &modes,
    );
    if let Some(b) = &c.s3_configuration {
        s3::validate(v, b, &path(parent, "s3Configuration"), true);
    }
    if let Some(b) = &c.s3_update {
        s3::validate(v, b, &path(parent, "s3Update"), false);
    }
    if let Some(m) = &c.secrets_manager_configuration {
        v.required(
            &m.enabled,
            &path(parent, "secretsManagerConfiguration.enabled"),
        );
    }
}

fn validate_endpoint(
    v: &mut Validator,
    e: &HttpEndpointConfiguration,
    endpoint_member: &str,
    allow_http: bool,
) {
    let url_member = path(endpoint_member, "url");
    let url = text(&e.url);
    v.required(&e.url, &url_member);
    v.length(url, &url_member, 1, 1000);
    let allowed = if allow_http { url_http } else { url_https };
    v.pattern(url, &url_member, URL_PATTERN, allowed);
    v.length(text(&e.name), &path(endpoint_member, "name"), 1, 256);
    let key = text(&e.access_key);
    v.length(key, &path(endpoint_member, "accessKey"), 0, 4096);
}

fn url_https(url: &str) -> bool {
    url.starts_with("https://")
}

fn url_http(url: &str) -> bool {
    url_https(url) || url.starts_with("http://")
}

fn validate_request(v: &mut Validator, c: &HttpEndpointDestination, at: &str) {
    let Some(r) = &c.request_configuration else {
        return;
    };
    v.one_of(
        text(&r.content_encoding),
        &path(at, "contentEncoding"),
        &["NONE", "GZIP"],
    );
    let Some(list) = &r.common_attributes else {
        return;
    };
    let member = path(at, "commonAttributes");
    let shown = || render_list(list.0.iter().map(|_| "HttpEndpointCommonAttribute"));
    v.count(Some(list.0.len()), shown, &member, 0, 50);
    for (i, a) in list.0.iter().enumerate() {
        let at = format!("{member}.{}.member", i + 1);
        let (name, value) = (path(&at, "attributeName"), path(&at, "attributeValue"));
        v.required(&a.attribute_name, &name);
        v.length(text(&a.attribute_name), &name, 1, 256);
        v.required(&a.attribute_value, &value);
        v.length(text(&a.attribute_value), &value, 0, 1024);
    }
}

/// A new destination from a create shape (validated already).
pub fn from_config(c: &HttpEndpointDestination) -> Result<HttpDestination, ApiError> {
    let s3 = match &c.s3_configuration {
        Some(b) => s3::from_config(b)?,
        None => S3Destination::default(),
    };
    let start = HttpDestination {
        url: String::new(),
        name: None,
        access_key: None,
        buffering: Buffering::default(),
        logging: CloudWatchLogging::default(),
        gzip: false,
        common_attributes: Vec::new(),
        processing: None,
        role_arn: None,
        retry_duration_secs: HttpDestination::DEFAULT_RETRY_SECS,
        backup_all: false,
        s3,
        secrets_manager_enabled: None,
    };
    merge(start, c)
}

/// `d` with every member `c` gives replaced; then the checks beyond the shapes.
pub fn merge(
    mut d: HttpDestination,
    c: &HttpEndpointDestination,
) -> Result<HttpDestination, ApiError> {
    if let Some(e) = &c.endpoint_configuration {
        d.url = text(&e.url).unwrap_or_default().to_string();
        d.name = text(&e.name).map(str::to_string);
        d.access_key = text(&e.access_key).map(str::to_string);
    }
    if let Some(h) = &c.buffering_hints {
        d.buffering = buffering(d.buffering, h);
    }
    if let Some(l) = &c.cloud_watch_logging_options {
        d.logging = logging(l);
    }
    if let Some(r) = &c.request_configuration {
        if let Some(encoding) = text(&r.content_encoding) {
            d.gzip = encoding == "GZIP";
        }
        if let Some(list) = &r.common_attributes {
            d.common_attributes = list
                .0
                .iter()
                .map(|a| {
                    let name = text(&a.attribute_name).unwrap_or_default().to_string();
                    (
                        name,
                        text(&a.attribute_value).unwrap_or_default().to_string(),
                    )
                })
                .collect();
        }
    }
    if let Some(p) = &c.processing_configuration {
        d.processing = Some(processing(p));
    }
    if let Some(role) = text(&c.role_arn) {
        d.role_arn = Some(role.to_string());
    }
    if let Some(seconds) = c
        .retry_options
        .as_ref()
        .and_then(|r| int(&r.duration_in_seconds))
    {
        d.retry_duration_secs = seconds;
    }
    if let Some(mode) = text(&c.s3_backup_mode) {
        d.backup_all = mode == "AllData";
    }
    if let Some(update) = &c.s3_update {
        d.s3 = s3::merge(d.s3, update)?;
    }
    if let Some(m) = &c.secrets_manager_configuration {
        d.secrets_manager_enabled = flag(&m.enabled);
    }
    check_semantics(&d)?;
    Ok(d)
}

fn check_semantics(d: &HttpDestination) -> Result<(), ApiError> {
    let not_yet = |what: &str| {
        invalid(format!(
            "{what} is not supported by Spate yet; see docs/compatibility.md."
        ))
    };
    s3::check_processing_without_partitioning(d.processing.as_ref())?;
    if d.secrets_manager_enabled == Some(true) {
        return Err(not_yet("An access key from Secrets Manager"));
    }
    s3::check_semantics(&d.s3)
}
