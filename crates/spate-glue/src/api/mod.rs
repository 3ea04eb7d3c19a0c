//! `AWSGlue` (JSON 1.1) on the server's port: the Data Catalog operations Firehose record format
//! conversion and the tools that set it up (Terraform, the CLI, boto3) use. Anything else is
//! UnknownOperationException.

mod common;
mod databases;
mod tables;
mod versions;

use crate::service::Glue;
use spate_wire::service::{run, BoxFuture, Call, Operation, Reply, TargetService};
use std::sync::Arc;

pub struct GlueApi {
    glue: Arc<Glue>,
}

impl GlueApi {
    pub fn new(glue: Arc<Glue>) -> Arc<GlueApi> {
        Arc::new(GlueApi { glue })
    }
}

/// What the front door reserves of its response buffer budget for a page: pages end once they
/// pass [`common::PAGE_BYTES_MAX`], so this holds one plus the table that crossed it, as long
/// as tables are of ordinary size (a table is as large as the request that wrote it).
const PAGE_RESPONSE_MAX_BYTES: usize = 2 * common::PAGE_BYTES_MAX;

const OPERATIONS: &[Operation] = &[
    Operation::new("CreateDatabase"),
    Operation::new("GetDatabase"),
    Operation::new("GetDatabases").with_response_max_bytes(PAGE_RESPONSE_MAX_BYTES),
    Operation::new("DeleteDatabase"),
    Operation::new("CreateTable"),
    Operation::new("GetTable").with_response_max_bytes(TABLE_RESPONSE_MAX_BYTES),
    Operation::new("GetTables").with_response_max_bytes(PAGE_RESPONSE_MAX_BYTES),
    Operation::new("UpdateTable"),
    Operation::new("DeleteTable"),
    Operation::new("GetTableVersion").with_response_max_bytes(TABLE_RESPONSE_MAX_BYTES),
    Operation::new("GetTableVersions").with_response_max_bytes(PAGE_RESPONSE_MAX_BYTES),
];

/// One table as it was given plus what Spate adds; reserved for tables of ordinary size (a few
/// hundred columns), not the largest request body.
const TABLE_RESPONSE_MAX_BYTES: usize = 2 << 20;

impl TargetService for GlueApi {
    fn target_prefix(&self) -> &'static str {
        "AWSGlue"
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        OPERATIONS.iter().find(|op| op.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move {
            let (glue, c) = (&self.glue, &call);
            match call.operation {
                "CreateDatabase" => run(c, |i| databases::create(glue, i)).await,
                "GetDatabase" => run(c, |i| databases::get(glue, i)).await,
                "GetDatabases" => run(c, |i| databases::list(glue, i)).await,
                "DeleteDatabase" => run(c, |i| databases::delete(glue, i)).await,
                "CreateTable" => run(c, |i| tables::create(glue, i)).await,
                "GetTable" => run(c, |i| tables::get(glue, i)).await,
                "GetTables" => run(c, |i| tables::list(glue, i)).await,
                "UpdateTable" => run(c, |i| tables::update(glue, i)).await,
                "DeleteTable" => run(c, |i| tables::delete(glue, i)).await,
                "GetTableVersion" => run(c, |i| versions::get(glue, i)).await,
                "GetTableVersions" => run(c, |i| versions::list(glue, i)).await,
                other => Reply::Error(spate_wire::ApiError::new(
                    spate_wire::ErrorKind::UnknownOperation,
                    format!("Spate does not serve Glue's {other}"),
                )),
            }
        })
    }
}
