//! Shared set-up for the end-to-end tests in tests/: run the real `spate` binary and point the
//! real `aws-sdk-kinesis` at it.

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::Client;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `spate` binary built beside this test (target/<profile>/spate), or `SPATE_BIN`.
pub fn spate_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SPATE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("spate")
}

pub struct Server {
    pub child: Child,
    pub endpoint: String,
}

/// Starts `spate serve` in memory on a free port, with `extra` flags appended.
pub async fn start_server(extra: &[&str]) -> Server {
    let mut child = Command::new(spate_bin())
        .args([
            "serve",
            "--in-memory",
            "--port",
            "0",
            "--creating-delay-ms",
            "0",
            "--deleting-delay-ms",
            "0",
            "--updating-delay-ms",
            "0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start spate (build it first: cargo build --release)");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("server start timed out")
        .expect("read stdout")
        .expect("server printed nothing");
    let endpoint = line
        .strip_prefix("spate listening on ")
        .expect("listening line")
        .to_string();
    Server { child, endpoint }
}

pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}
