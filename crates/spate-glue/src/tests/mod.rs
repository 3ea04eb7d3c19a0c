//! In-process tests through the wire API, over an in-memory document catalog, so the service
//! can be reopened over what it wrote.

use crate::api::GlueApi;
use crate::{Glue, GlueConfig};
use serde_json::{json, Value};
use spate_catalog::MemDocCatalog;
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, TargetService};
use std::sync::Arc;

const ACCOUNT: &str = "000000000000";

struct Harness {
    catalog: Arc<MemDocCatalog>,
    api: Arc<GlueApi>,
    glue: Arc<Glue>,
}

fn config() -> GlueConfig {
    GlueConfig {
        region: "us-east-1".into(),
        account_id: ACCOUNT.into(),
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::over(Arc::new(MemDocCatalog::default()))
    }

    fn over(catalog: Arc<MemDocCatalog>) -> Harness {
        let glue = Glue::open(config(), catalog.clone()).unwrap();
        Harness {
            catalog,
            api: GlueApi::new(glue.clone()),
            glue,
        }
    }

    fn reopen(&self) -> Harness {
        Harness::over(self.catalog.clone())
    }

    /// The operation's output, or `Err((code, message))`.
    async fn call(&self, operation: &'static str, body: Value) -> Result<Value, (String, String)> {
        let call = Call {
            operation,
            encoding: Encoding::Json,
            body: body.to_string().into(),
        };
        match self.api.clone().call(call).await {
            Reply::Output(bytes) if bytes.is_empty() => Ok(json!({})),
            Reply::Output(bytes) => Ok(serde_json::from_slice(&bytes).unwrap()),
            Reply::Error(e) => Err((e.kind.code().to_string(), e.message)),
            Reply::EventStream(_) => panic!("no event streams here"),
        }
    }

    async fn ok(&self, operation: &'static str, body: Value) -> Value {
        self.call(operation, body)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e:?}"))
    }

    async fn err(&self, operation: &'static str, body: Value) -> (String, String) {
        match self.call(operation, body).await {
            Ok(out) => panic!("{operation} succeeded: {out}"),
            Err(e) => e,
        }
    }

    async fn database(&self, name: &str) {
        self.ok("CreateDatabase", json!({"DatabaseInput": {"Name": name}}))
            .await;
    }

    async fn table(&self, database: &str, name: &str, columns: &[(&str, &str)]) {
        self.ok(
            "CreateTable",
            json!({"DatabaseName": database, "TableInput": table_input(name, columns)}),
        )
        .await;
    }
}

/// A TableInput as Firehose format conversion tables are made (Parquet SerDe).
fn table_input(name: &str, columns: &[(&str, &str)]) -> Value {
    let columns: Vec<Value> = columns
        .iter()
        .map(|(n, t)| json!({"Name": n, "Type": t}))
        .collect();
    json!({
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet"},
        "StorageDescriptor": {
            "Columns": columns,
            "Location": "s3://bucket/prefix/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
        "PartitionKeys": [],
    })
}

mod databases;
mod pattern;
mod tables;
