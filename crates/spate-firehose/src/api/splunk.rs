//! Splunk destination configurations: validated into [`SplunkDestination`] values, and updates
//! merged into the current one.

use super::check::{flag, int, path, text};
use super::destination::{self as s3, buffering, logging, processing};
use crate::errors::invalid;
use crate::model::{CloudWatchLogging, Destination, HecEndpointType, SplunkDestination};
use spate_wire::firehose::SplunkDestination as Config;
use spate_wire::firehose::UpdateDestinationInput;
use spate_wire::validate::Validator;
use spate_wire::ApiError;

/// Checks the members; `create`: the create shape (HECEndpoint, HECEndpointType and
/// S3Configuration required).
pub fn validate(v: &mut Validator, c: &Config, parent: &str, create: bool) {
    if create {
        v.required(&c.hec_endpoint, &path(parent, "hECEndpoint"));
        v.required(&c.hec_endpoint_type, &path(parent, "hECEndpointType"));
        v.required(&c.s3_configuration, &path(parent, "s3Configuration"));
    }
    v.length(text(&c.hec_endpoint), &path(parent, "hECEndpoint"), 0, 2048);
    v.one_of(
        text(&c.hec_endpoint_type),
        &path(parent, "hECEndpointType"),
        &["Raw", "Event"],
    );
    v.length(text(&c.hec_token), &path(parent, "hECToken"), 0, 2048);
    v.range(
        int(&c.hec_acknowledgment_timeout_in_seconds),
        &path(parent, "hECAcknowledgmentTimeoutInSeconds"),
        180,
        600,
    );
    if let Some(r) = &c.retry_options {
        let member = path(parent, "retryOptions.durationInSeconds");
        v.range(int(&r.duration_in_seconds), &member, 0, 7200);
    }
    v.one_of(
        text(&c.s3_backup_mode),
        &path(parent, "s3BackupMode"),
        &["FailedEventsOnly", "AllEvents"],
    );
    if let Some(h) = &c.buffering_hints {
        let at = path(parent, "bufferingHints");
        v.range(int(&h.size_in_mbs), &path(&at, "sizeInMBs"), 1, 5);
        v.range(
            int(&h.interval_in_seconds),
            &path(&at, "intervalInSeconds"),
            0,
            60,
        );
    }
    s3::validate_shared(
        v,
        s3::Shared {
            s3_configuration: c.s3_configuration.as_deref(),
            s3_update: c.s3_update.as_deref(),
            processing: c.processing_configuration.as_deref(),
            logging: c.cloud_watch_logging_options.as_deref(),
            secrets_manager: c.secrets_manager_configuration.as_deref(),
        },
        parent,
    );
}

/// A new destination from a create shape (validated already). `allow_http`: the operator
/// accepts `http://` HEC endpoints.
pub fn from_config(c: &Config, allow_http: bool) -> Result<SplunkDestination, ApiError> {
    let s3 = match &c.s3_configuration {
        Some(b) => s3::from_config(b)?,
        None => crate::model::S3Destination::default(),
    };
    let start = SplunkDestination {
        endpoint: String::new(),
        endpoint_type: HecEndpointType::Raw,
        token: None,
        ack_timeout_secs: SplunkDestination::DEFAULT_ACK_TIMEOUT_SECS,
        retry_duration_secs: SplunkDestination::DEFAULT_RETRY_SECS,
        buffering: SplunkDestination::DEFAULT_BUFFERING,
        backup_all: text(&c.s3_backup_mode) == Some("AllEvents"),
        s3,
        processing: None,
        logging: CloudWatchLogging::default(),
        secrets_manager_enabled: None,
    };
    merge(start, c, allow_http)
}

/// `d` with every member `c` gives replaced; then the checks beyond the shapes. S3BackupMode
/// is fixed at creation, as on AWS.
pub fn merge(
    mut d: SplunkDestination,
    c: &Config,
    allow_http: bool,
) -> Result<SplunkDestination, ApiError> {
    if let Some(endpoint) = text(&c.hec_endpoint) {
        d.endpoint = endpoint.trim_end_matches('/').to_string();
    }
    if let Some(kind) = text(&c.hec_endpoint_type).and_then(HecEndpointType::parse) {
        d.endpoint_type = kind;
    }
    if let Some(token) = text(&c.hec_token) {
        d.token = (!token.is_empty()).then(|| token.to_string());
    }
    if let Some(seconds) = int(&c.hec_acknowledgment_timeout_in_seconds) {
        d.ack_timeout_secs = seconds;
    }
    if let Some(seconds) = c
        .retry_options
        .as_ref()
        .and_then(|r| int(&r.duration_in_seconds))
    {
        d.retry_duration_secs = seconds;
    }
    if let Some(h) = &c.buffering_hints {
        d.buffering = buffering(d.buffering, h);
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
    if let Some(m) = &c.secrets_manager_configuration {
        d.secrets_manager_enabled = flag(&m.enabled);
    }
    check_semantics(&d, allow_http)?;
    Ok(d)
}

fn check_semantics(d: &SplunkDestination, allow_http: bool) -> Result<(), ApiError> {
    let https = d.endpoint.starts_with("https://");
    let http = allow_http && d.endpoint.starts_with("http://");
    if !https && !http {
        return Err(invalid(if allow_http {
            "HECEndpoint must be an http:// or https:// URL."
        } else {
            "HECEndpoint must be an https:// URL (start the server with --firehose-allow-http to allow http://)."
        }));
    }
    if d.secrets_manager_enabled == Some(true) {
        return Err(invalid(
            "A HEC token from Secrets Manager is not supported by Spate yet; give HECToken. See docs/compatibility.md.",
        ));
    }
    s3::check_processing_without_partitioning(d.processing.as_ref())?;
    s3::check_semantics(&d.s3)
}

/// A Splunk update of a Splunk destination, merged (`None` otherwise: a change of type is
/// the caller's).
pub fn update(
    current: &Destination,
    i: &UpdateDestinationInput,
    allow_http: bool,
) -> Option<Result<Destination, ApiError>> {
    match (current, i.splunk_destination_update.as_deref()) {
        (Destination::Splunk(d), Some(u)) => {
            Some(merge(d.clone(), u, allow_http).map(Destination::Splunk))
        }
        _ => None,
    }
}
