//! In-process tests through the wire API, over an in-memory document catalog (so the service
//! can be reopened over what it wrote) and an explicit clock for TTL.

use crate::api::DynamoDbApi;
use crate::{DynamoDb, DynamoDbConfig};
use serde_json::{json, Value};
use spate_catalog::MemDocCatalog;
use spate_wire::codec::Encoding;
use spate_wire::service::{Call, Reply, TargetService};
use std::sync::Arc;

struct Harness {
    catalog: Arc<MemDocCatalog>,
    api: Arc<DynamoDbApi>,
    db: Arc<DynamoDb>,
}

fn config() -> DynamoDbConfig {
    DynamoDbConfig {
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::over(Arc::new(MemDocCatalog::default()))
    }

    fn over(catalog: Arc<MemDocCatalog>) -> Harness {
        let db = DynamoDb::open(config(), catalog.clone()).unwrap();
        Harness {
            catalog,
            api: DynamoDbApi::new(db.clone()),
            db,
        }
    }

    fn reopen(&self) -> Harness {
        Harness::over(self.catalog.clone())
    }

    /// The operation's output, or `Err((code, message))`.
    async fn call(&self, operation: &'static str, body: Value) -> Result<Value, (String, String)> {
        let call = Call {
            operation,
            encoding: Encoding::Json10,
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

    async fn table(&self, name: &str) {
        self.ok("CreateTable", json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        })).await;
    }
}

mod ttl;
mod writes;
