//! `DynamoDB_20120810` (JSON 1.0) on the server's port: the operations KCL-style lease
//! management and idempotent dedupe claims use. Anything else is UnknownOperationException.

mod items;
mod read;
mod request;
mod tables;
mod transact;
mod ttl;
mod update;

use crate::service::DynamoDb;
use spate_wire::service::{run, BoxFuture, Call, Operation, Reply, TargetService};
use std::sync::Arc;

pub struct DynamoDbApi {
    db: Arc<DynamoDb>,
}

impl DynamoDbApi {
    pub fn new(db: Arc<DynamoDb>) -> Arc<DynamoDbApi> {
        Arc::new(DynamoDbApi { db })
    }
}

/// A 400 KB item in DynamoDB JSON, with room for its encoding.
const ITEM_RESPONSE_MAX_BYTES: usize = 2 << 20;

const OPERATIONS: &[Operation] = &[
    Operation::new("CreateTable"),
    Operation::new("DescribeTable"),
    Operation::new("DeleteTable"),
    Operation::new("ListTables"),
    Operation::new("PutItem").with_response_max_bytes(ITEM_RESPONSE_MAX_BYTES),
    Operation::new("GetItem").with_response_max_bytes(ITEM_RESPONSE_MAX_BYTES),
    Operation::new("DeleteItem").with_response_max_bytes(ITEM_RESPONSE_MAX_BYTES),
    Operation::new("UpdateItem").with_response_max_bytes(ITEM_RESPONSE_MAX_BYTES),
    Operation::new("UpdateTable"),
    Operation::new("Scan").with_response_max_bytes(PAGE_RESPONSE_MAX_BYTES),
    Operation::new("Query").with_response_max_bytes(PAGE_RESPONSE_MAX_BYTES),
    Operation::new("UpdateTimeToLive"),
    Operation::new("DescribeTimeToLive"),
    Operation::new("TransactWriteItems"),
];

/// A 1 MB page plus the last item that crossed it, in DynamoDB JSON.
const PAGE_RESPONSE_MAX_BYTES: usize = 4 << 20;

impl TargetService for DynamoDbApi {
    fn target_prefix(&self) -> &'static str {
        "DynamoDB_20120810"
    }

    fn json_version(&self) -> spate_wire::codec::Encoding {
        spate_wire::codec::Encoding::Json10
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        OPERATIONS.iter().find(|op| op.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move {
            let (db, c) = (&self.db, &call);
            match call.operation {
                "CreateTable" => run(c, |i| tables::create(db, i)).await,
                "DescribeTable" => run(c, |i| tables::describe(db, i)).await,
                "DeleteTable" => run(c, |i| tables::delete(db, i)).await,
                "ListTables" => run(c, |i| tables::list(db, i)).await,
                "PutItem" => run(c, |i| items::put(db, i)).await,
                "GetItem" => run(c, |i| items::get(db, i)).await,
                "DeleteItem" => run(c, |i| items::delete(db, i)).await,
                "UpdateItem" => run(c, |i| update::update(db, i)).await,
                "UpdateTable" => run(c, |i| tables::update(db, i)).await,
                "Scan" => run(c, |i| read::scan(db, i)).await,
                "Query" => run(c, |i| read::query(db, i)).await,
                "UpdateTimeToLive" => run(c, |i| ttl::update(db, i)).await,
                "DescribeTimeToLive" => run(c, |i| ttl::describe(db, i)).await,
                "TransactWriteItems" => run(c, |i| transact::write(db, i)).await,
                other => Reply::Error(spate_wire::ApiError::new(
                    spate_wire::ErrorKind::UnknownOperation,
                    format!("Spate does not serve DynamoDB's {other}"),
                )),
            }
        })
    }
}
