//! Functions and event source mappings as domain values, persisted as catalog documents
//! (JSON, versioned by `format`).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The document format written by this version.
pub const FORMAT_VERSION: u32 = 1;

/// A function name as Lambda accepts it: 1 to 64 of `[a-zA-Z0-9-_]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FunctionName(String);

impl FunctionName {
    /// The name in a function name or ARN (`name`, `account:function:name`,
    /// `arn:aws:lambda:region:account:function:name`, each with an optional `:$LATEST`).
    pub fn parse(text: &str) -> Option<FunctionName> {
        let parts: Vec<&str> = text.split(':').collect();
        let name = match parts.as_slice() {
            [name] | [name, "$LATEST"] => *name,
            [_, "function", name] | [_, "function", name, "$LATEST"] => *name,
            ["arn", _, "lambda", _, _, "function", name]
            | ["arn", _, "lambda", _, _, "function", name, "$LATEST"] => *name,
            _ => return None,
        };
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| FunctionName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FunctionName {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What runs when a function is invoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FunctionTarget {
    /// A handler module run by Spate's runner for `node` or `python3`.
    Module {
        language: Language,
        /// The directory holding the code (extracted zip, or the operator's directory).
        dir: PathBuf,
        /// `file.export`, as Lambda's Handler.
        handler: String,
    },
    /// A long-running child process speaking the line protocol (`docs/functions.md`).
    Command {
        argv: Vec<String>,
        dir: Option<PathBuf>,
    },
    /// An HTTP URL: the event is POSTed, the response body is the result.
    Url { url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Node,
    Python,
}

impl Language {
    /// The language of a Lambda runtime name, for the runtimes Spate runs.
    pub fn of_runtime(runtime: &str) -> Option<Language> {
        if runtime.starts_with("nodejs") {
            Some(Language::Node)
        } else if runtime.starts_with("python3") {
            Some(Language::Python)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub format: u32,
    pub name: FunctionName,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: String,
    pub description: String,
    pub timeout_secs: u32,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    pub target: FunctionTarget,
    pub code_sha256: String,
    pub code_size: u64,
    pub last_modified_ms: i64,
    pub revision_id: String,
    pub tags: BTreeMap<String, String>,
    /// Declared in Spate's configuration rather than created through the API (not persisted).
    #[serde(default)]
    pub declared: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(i64),
}

/// Where a discarded batch's invocation record goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureDestination {
    S3 { arn: String, bucket: String },
    Kinesis { arn: String, stream: String },
}

impl FailureDestination {
    pub fn arn(&self) -> &str {
        match self {
            FailureDestination::S3 { arn, .. } | FailureDestination::Kinesis { arn, .. } => arn,
        }
    }
}

/// An event source mapping from a Kinesis stream to a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRecord {
    pub format: u32,
    pub uuid: String,
    pub function: FunctionName,
    /// The ARN as given (a stream's, or an EFO consumer's) and the stream it names.
    pub event_source_arn: String,
    pub stream: String,
    pub enabled: bool,
    pub batch_size: u32,
    pub batching_window_secs: u32,
    pub parallelization_factor: u32,
    pub starting_position: StartingPosition,
    pub maximum_record_age_secs: i32,
    pub bisect_on_error: bool,
    pub maximum_retry_attempts: i32,
    pub tumbling_window_secs: u32,
    pub report_batch_item_failures: bool,
    pub on_failure: Option<FailureDestination>,
    /// FilterCriteria patterns as given (JSON text).
    pub filters: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub created_ms: i64,
    pub last_modified_ms: i64,
}

/// How far a mapping got: the next position of each shard being read, the shards read to
/// their end, for one incarnation of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingProgress {
    pub stream_created_ms: i64,
    pub positions: BTreeMap<u32, u64>,
    pub done: BTreeSet<u32>,
    /// Open tumbling windows, their state as of the checkpoint.
    #[serde(default)]
    pub windows: BTreeMap<u32, crate::mappings::window::Window>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_from_names_and_arns() {
        for text in [
            "f-1",
            "f-1:$LATEST",
            "123456789012:function:f-1",
            "arn:aws:lambda:us-east-1:123456789012:function:f-1",
        ] {
            assert_eq!(FunctionName::parse(text).unwrap().as_str(), "f-1", "{text}");
        }
        for bad in ["", "a b", "arn:aws:s3:::b", &"x".repeat(65)] {
            assert!(FunctionName::parse(bad).is_none(), "{bad}");
        }
    }
}
