//! The Redshift destination, emulated on PostgreSQL: each buffer is written to the intermediate
//! bucket as Firehose writes it, a manifest naming it is written under `manifests/`, and the
//! object is loaded into DataTableName with `COPY ... FROM STDIN` in one transaction, its bytes
//! read the way Redshift's COPY would read them under the stream's CopyOptions
//! ([`options`], [`rows`]). A batch that still fails when RetryOptions runs out is skipped and
//! its manifest written under `errors/manifests/` (Firehose's `errors/` folder).

pub mod jdbc;
pub mod load;
pub mod model;
pub mod options;
pub mod rows;
pub mod tls;

pub use model::RedshiftDestination;

/// Why a load failed: Firehose's Redshift error code and the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub code: &'static str,
    pub message: String,
}

impl LoadError {
    pub fn new(code: &'static str, message: impl Into<String>) -> LoadError {
        LoadError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
