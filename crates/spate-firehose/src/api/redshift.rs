//! Redshift destination configurations: validated into [`RedshiftDestination`] values (the
//! JDBC URL and CopyOptions understood before the stream exists), updates merged, described
//! without the password.

use super::check::{self, flag, int, path, text};
use super::destination::{self as s3, logging, processing};
use crate::errors::invalid;
use crate::model::{CloudWatchLogging, Compression, Destination};
use crate::redshift::{jdbc, options, RedshiftDestination};
use spate_wire::firehose::{RedshiftDestination as Config, UpdateDestinationInput};
use spate_wire::validate::Validator;
use spate_wire::ApiError;

/// Checks the members; `create`: the create shape's required members.
pub fn validate(v: &mut Validator, c: &Config, parent: &str, create: bool) {
    if create {
        v.required(&c.role_arn, &path(parent, "roleARN"));
        v.required(&c.cluster_jdbcurl, &path(parent, "clusterJDBCURL"));
        v.required(&c.copy_command, &path(parent, "copyCommand"));
        v.required(&c.s3_configuration, &path(parent, "s3Configuration"));
    }
    let role = text(&c.role_arn);
    v.pattern(
        role,
        &path(parent, "roleARN"),
        check::ROLE_ARN_PATTERN,
        check::role_arn,
    );
    v.length(
        text(&c.cluster_jdbcurl),
        &path(parent, "clusterJDBCURL"),
        1,
        512,
    );
    if let Some(copy) = &c.copy_command {
        let at = path(parent, "copyCommand");
        v.required(&copy.data_table_name, &path(&at, "dataTableName"));
        v.length(
            text(&copy.data_table_name),
            &path(&at, "dataTableName"),
            1,
            512,
        );
        v.length(
            text(&copy.data_table_columns),
            &path(&at, "dataTableColumns"),
            0,
            10240,
        );
        v.length(
            text(&copy.copy_options),
            &path(&at, "copyOptions"),
            0,
            10240,
        );
    }
    v.length(text(&c.username), &path(parent, "username"), 1, 512);
    v.length(text(&c.password), &path(parent, "password"), 6, 512);
    if let Some(r) = &c.retry_options {
        let member = path(parent, "retryOptions.durationInSeconds");
        v.range(int(&r.duration_in_seconds), &member, 0, 7200);
    }
    v.one_of(
        text(&c.s3_backup_mode),
        &path(parent, "s3BackupMode"),
        &["Disabled", "Enabled"],
    );
    validate_parts(v, c, parent);
}

/// The S3, processing, logging and Secrets Manager members.
fn validate_parts(v: &mut Validator, c: &Config, parent: &str) {
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
    for (b, member, required) in [
        (&c.s3_backup_configuration, "s3BackupConfiguration", true),
        (&c.s3_backup_update, "s3BackupUpdate", false),
    ] {
        if let Some(b) = b {
            s3::validate(v, b, &path(parent, member), required);
        }
    }
}

/// A new destination from a create shape (validated already).
pub fn from_config(c: &Config) -> Result<RedshiftDestination, ApiError> {
    let s3 = match &c.s3_configuration {
        Some(b) => s3::from_config(b)?,
        None => crate::model::S3Destination::default(),
    };
    let start = RedshiftDestination {
        role_arn: String::new(),
        jdbc_url: String::new(),
        table: String::new(),
        columns: None,
        copy_options: None,
        username: None,
        password: None,
        retry_duration_secs: RedshiftDestination::DEFAULT_RETRY_SECS,
        s3,
        backup_enabled: false,
        backup: None,
        processing: None,
        logging: CloudWatchLogging::default(),
        secrets_manager_enabled: None,
    };
    merge(start, c)
}

/// `d` with every member `c` gives replaced; then the checks beyond the shapes.
pub fn merge(mut d: RedshiftDestination, c: &Config) -> Result<RedshiftDestination, ApiError> {
    let set = |to: &mut Option<String>, from: Option<&str>| {
        if let Some(v) = from {
            *to = (!v.is_empty()).then(|| v.to_string());
        }
    };
    if let Some(role) = text(&c.role_arn) {
        d.role_arn = role.to_string();
    }
    if let Some(url) = text(&c.cluster_jdbcurl) {
        d.jdbc_url = url.to_string();
    }
    if let Some(copy) = &c.copy_command {
        d.table = text(&copy.data_table_name).unwrap_or_default().to_string();
        d.columns = text(&copy.data_table_columns).map(str::to_string);
        d.copy_options = text(&copy.copy_options).map(str::to_string);
    }
    set(&mut d.username, text(&c.username));
    set(&mut d.password, text(&c.password));
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
    merge_backup(&mut d, c)?;
    if let Some(p) = &c.processing_configuration {
        d.processing = Some(processing(p));
    }
    if let Some(l) = &c.cloud_watch_logging_options {
        d.logging = logging(l);
    }
    if let Some(m) = &c.secrets_manager_configuration {
        d.secrets_manager_enabled = flag(&m.enabled);
    }
    check_semantics(&d)?;
    Ok(d)
}

/// S3BackupMode and its bucket: once Enabled it cannot be Disabled again (as on AWS).
fn merge_backup(d: &mut RedshiftDestination, c: &Config) -> Result<(), ApiError> {
    match text(&c.s3_backup_mode) {
        Some("Enabled") => d.backup_enabled = true,
        Some("Disabled") if d.backup_enabled => {
            return Err(invalid(
                "S3 backup cannot be disabled once it is enabled for a Redshift destination.",
            ))
        }
        _ => {}
    }
    if let Some(b) = &c.s3_backup_configuration {
        d.backup = Some(s3::from_config(b)?);
    }
    if let Some(b) = &c.s3_backup_update {
        let current = d.backup.clone().unwrap_or_default();
        d.backup = Some(s3::merge(current, b)?);
    }
    Ok(())
}

fn check_semantics(d: &RedshiftDestination) -> Result<(), ApiError> {
    jdbc::parse(&d.jdbc_url).map_err(invalid)?;
    if let Err(why) = options::parse(d.copy_options.as_deref().unwrap_or_default()) {
        return Err(invalid(format!(
            "CopyOptions: {why}. See docs/compatibility.md."
        )));
    }
    if matches!(
        d.s3.compression,
        Compression::Zip | Compression::Snappy | Compression::HadoopSnappy
    ) {
        return Err(invalid("The compression formats SNAPPY or ZIP cannot be specified in RedshiftDestinationConfiguration.S3Configuration because the Amazon Redshift COPY operation that reads from the S3 bucket doesn't support these compression formats."));
    }
    if d.secrets_manager_enabled == Some(true) {
        return Err(invalid("Credentials from Secrets Manager are not supported by Spate yet; give Username and Password. See docs/compatibility.md."));
    }
    if d.username.is_none() || d.password.is_none() {
        return Err(invalid(
            "Username and Password are required when SecretsManagerConfiguration is not enabled.",
        ));
    }
    if d.backup_enabled && d.backup.is_none() {
        return Err(invalid(
            "S3BackupConfiguration is required when S3BackupMode is Enabled.",
        ));
    }
    s3::check_semantics(&d.s3)
}

/// A Redshift update of a Redshift destination, merged (`None` otherwise: a change of type is
/// the caller's).
pub fn update(
    current: &Destination,
    i: &UpdateDestinationInput,
) -> Option<Result<Destination, ApiError>> {
    match (current, i.redshift_destination_update.as_deref()) {
        (Destination::Redshift(d), Some(u)) => Some(merge(d.clone(), u).map(Destination::Redshift)),
        _ => None,
    }
}
