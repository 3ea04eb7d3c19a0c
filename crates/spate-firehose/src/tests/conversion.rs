//! Record format conversion in process: a table stand-in that answers like the Glue catalog
//! (the real one is exercised against the binary), Parquet objects, the
//! `format-conversion-failed` error output, and what CreateDeliveryStream refuses.

use super::{instant_config, Harness};
use crate::convert::{ColumnsFuture, TableRef, TableSchemas};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// One table, `db.events`, whose columns a test may change; other tables are not found.
struct Tables(Mutex<Vec<(String, String)>>);

impl TableSchemas for Tables {
    fn columns<'a>(&'a self, table: &'a TableRef) -> ColumnsFuture<'a> {
        Box::pin(async move {
            assert_eq!(
                (table.catalog_id.as_str(), table.region.as_str()),
                ("000000000000", "us-east-1")
            );
            if (table.database.as_str(), table.table.as_str()) != ("db", "events") {
                return Err(format!("Table {} not found.", table.table));
            }
            Ok(self.0.lock().unwrap().clone())
        })
    }
}

fn tables(columns: &[(&str, &str)]) -> Arc<Tables> {
    let columns = columns
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    Arc::new(Tables(Mutex::new(columns)))
}

fn conversion(table: &str, serializer: Value) -> Value {
    json!({
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "Prefix": "data/",
        "DataFormatConversionConfiguration": {
            "SchemaConfiguration": {"RoleARN": "arn:aws:iam::000000000000:role/glue",
                "DatabaseName": "db", "TableName": table},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": serializer},
        }
    })
}

fn parquet() -> Value {
    json!({"ParquetSerDe": {"Compression": "GZIP"}})
}

#[tokio::test]
async fn json_records_become_one_parquet_object_and_misfits_go_to_the_error_output() {
    let h = Harness::new(instant_config()).await;
    h.firehose
        .set_table_schemas(tables(&[("ticker", "string"), ("price", "double")]));
    h.create("s", conversion("events", parquet())).await;
    h.put_batch(
        "s",
        &[
            br#"{"ticker":"AAA","price":1.5}"#,
            br#"{"ticker":"BAD","price":"oops"}"#,
            b"not json",
        ],
    )
    .await;
    h.flush("s").await.unwrap();
    let delivered = h.delivered();
    let data: Vec<_> = delivered
        .iter()
        .filter(|(k, _)| k.starts_with("data/"))
        .collect();
    let [(key, body)] = &data[..] else {
        panic!("one data object: {delivered:?}");
    };
    assert!(key.ends_with(".parquet"), "{key}");
    assert!(body.starts_with(b"PAR1") && body.ends_with(b"PAR1"));
    let errors: Vec<Value> = delivered
        .iter()
        .filter(|(k, _)| k.starts_with("errors/format-conversion-failed/"))
        .flat_map(|(_, b)| {
            String::from_utf8(b.clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    let codes: Vec<_> = errors.iter().map(|e| e["lastErrorCode"].clone()).collect();
    assert_eq!(
        codes,
        vec![
            json!("DataFormatConversion.MalformedData"),
            json!("DataFormatConversion.ParseError")
        ]
    );
    assert_eq!(errors[1]["rawData"], STANDARD.encode("not json"));
    let table = &errors[0]["dataCatalogTable"];
    assert_eq!(table["databaseName"], "db");
    assert_eq!(table["tableName"], "events");
    assert_eq!(
        table["catalogArn"],
        "arn:aws:glue:us-east-1:000000000000:catalog"
    );
    let d = h.describe("s").await;
    let conversion = &d["Destinations"][0]["ExtendedS3DestinationDescription"]
        ["DataFormatConversionConfiguration"];
    assert_eq!(conversion["Enabled"], true);
    assert_eq!(
        conversion["OutputFormatConfiguration"]["Serializer"]["ParquetSerDe"]["Compression"],
        "GZIP"
    );
    assert_eq!(conversion["SchemaConfiguration"]["TableName"], "events");
}

#[tokio::test]
async fn a_missing_table_holds_the_records_until_it_exists() {
    let h = Harness::new(instant_config()).await;
    let schemas = tables(&[]);
    h.firehose.set_table_schemas(schemas.clone());
    h.create("s", conversion("events", parquet())).await;
    h.put_batch("s", &[br#"{"n":1}"#]).await;
    let e = h.flush("s").await.unwrap_err();
    assert!(e.message.contains("no columns"), "{}", e.message);
    assert!(h.delivered().is_empty(), "nothing delivered, nothing lost");
    *schemas.0.lock().unwrap() = vec![("n".into(), "int".into())];
    h.flush("s").await.unwrap();
    let delivered = h.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert!(delivered[0].0.starts_with("data/"));
}

#[tokio::test]
async fn conversions_that_cannot_run_are_refused_at_creation() {
    let h = Harness::new(instant_config()).await;
    let create = |extra: Value| {
        let mut d = json!({"RoleARN": "arn:aws:iam::000000000000:role/f",
            "BucketARN": "arn:aws:s3:::bucket-1"});
        d.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"DeliveryStreamName": "s", "ExtendedS3DestinationConfiguration": d})
    };
    let orc = create(conversion("events", json!({"OrcSerDe": {}})));
    let e = h.err("CreateDeliveryStream", orc).await;
    assert!(
        e.message.contains("OrcSerDe is not supported"),
        "{}",
        e.message
    );
    let mut gzip = conversion("events", parquet());
    gzip["CompressionFormat"] = json!("GZIP");
    let e = h.err("CreateDeliveryStream", create(gzip)).await;
    assert!(e.message.contains("UNCOMPRESSED"), "{}", e.message);
    let mut both = conversion("events", parquet());
    both["DataFormatConversionConfiguration"]["InputFormatConfiguration"]["Deserializer"]
        ["HiveJsonSerDe"] = json!({});
    let e = h.err("CreateDeliveryStream", create(both)).await;
    assert!(e.message.contains("Only one of"), "{}", e.message);
    let mut small_page = conversion("events", json!({"ParquetSerDe": {"PageSizeBytes": 1024}}));
    small_page["BufferingHints"] = json!({"SizeInMBs": 64, "IntervalInSeconds": 60});
    let e = h.err("CreateDeliveryStream", create(small_page)).await;
    assert!(
        e.message.contains("greater than or equal to 65536"),
        "{}",
        e.message
    );
    let mut no_schema = conversion("events", parquet());
    no_schema["DataFormatConversionConfiguration"]["SchemaConfiguration"] = json!(null);
    let e = h.err("CreateDeliveryStream", create(no_schema)).await;
    assert!(e.message.contains("SchemaConfiguration"), "{}", e.message);
    let mut disabled = conversion("events", json!({"OrcSerDe": {}}));
    disabled["DataFormatConversionConfiguration"]["Enabled"] = json!(false);
    h.ok("CreateDeliveryStream", create(disabled)).await;
}

#[tokio::test]
async fn each_dynamic_partition_becomes_its_own_parquet_object() {
    let h = Harness::new(instant_config()).await;
    h.firehose
        .set_table_schemas(tables(&[("customer", "string"), ("n", "int")]));
    let mut config = conversion("events", parquet());
    config["Prefix"] = json!("customer=!{partitionKeyFromQuery:customer}/");
    config["DynamicPartitioningConfiguration"] = json!({"Enabled": true});
    config["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": [
        {"Type": "MetadataExtraction", "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer: .customer}"},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]});
    h.create("s", config).await;
    h.put_batch(
        "s",
        &[
            br#"{"customer":"a","n":1}"#,
            br#"{"customer":"b","n":2}"#,
            br#"{"customer":"a","n":"three"}"#,
        ],
    )
    .await;
    h.flush("s").await.unwrap();
    let mut keys: Vec<String> = h.delivered().into_iter().map(|(k, _)| k).collect();
    keys.sort();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys[0].starts_with("customer=a/") && keys[0].ends_with(".parquet"));
    assert!(keys[1].starts_with("customer=b/") && keys[1].ends_with(".parquet"));
    assert!(
        keys[2].starts_with("errors/format-conversion-failed/"),
        "{keys:?}"
    );
}
