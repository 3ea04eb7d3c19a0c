//! A Redshift destination as Spate keeps it.

use crate::model::{CloudWatchLogging, Processing, S3Destination};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedshiftDestination {
    pub role_arn: String,
    pub jdbc_url: String,
    pub table: String,
    /// DataTableColumns, as given (comma-separated).
    pub columns: Option<String>,
    pub copy_options: Option<String>,
    pub username: Option<String>,
    /// Never shown by DescribeDeliveryStream, as on AWS.
    pub password: Option<String>,
    pub retry_duration_secs: i64,
    /// The intermediate bucket (S3Configuration).
    pub s3: S3Destination,
    /// S3BackupMode Enabled: every source record also goes to `backup`.
    pub backup_enabled: bool,
    pub backup: Option<S3Destination>,
    pub processing: Option<Processing>,
    pub logging: CloudWatchLogging,
    pub secrets_manager_enabled: Option<bool>,
}

impl RedshiftDestination {
    /// AWS's default RetryOptions for Redshift: 3600 s.
    pub const DEFAULT_RETRY_SECS: i64 = 3600;

    /// The intermediate bucket as the delivery writes it: processing first, and the source
    /// records backed up when S3BackupMode is Enabled.
    pub fn intermediate(&self) -> S3Destination {
        let mut s3 = self.s3.clone();
        s3.backup_enabled = self.backup_enabled;
        s3.backup = self.backup.clone().map(Box::new);
        s3.processing = self.processing.clone();
        s3
    }
}
