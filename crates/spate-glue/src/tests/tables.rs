use super::*;
use crate::{Column, TableLookupError};

fn columns(pairs: &[(&str, &str)]) -> Vec<Column> {
    pairs
        .iter()
        .map(|(n, t)| Column {
            name: n.to_string(),
            type_text: t.to_string(),
        })
        .collect()
}

fn versions(page: &Value) -> Vec<String> {
    page["TableVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["VersionId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn tables_are_kept_as_given_with_what_glue_adds() {
    let h = Harness::new();
    h.database("db").await;
    h.ok(
        "CreateTable",
        json!({"DatabaseName": "DB", "TableInput": table_input("Orders", &[("id", "bigint"), ("Item", "struct<a:int>")])}),
    )
    .await;
    let t = h
        .ok("GetTable", json!({"DatabaseName": "db", "Name": "ORDERS"}))
        .await["Table"]
        .clone();
    assert_eq!(t["Name"], "orders");
    assert_eq!(t["DatabaseName"], "db");
    assert_eq!(t["CatalogId"], ACCOUNT);
    assert_eq!(t["VersionId"], "0");
    assert_eq!(t["IsRegisteredWithLakeFormation"], false);
    assert_eq!(t["TableType"], "EXTERNAL_TABLE");
    assert_eq!(
        t["StorageDescriptor"]["Columns"][1],
        json!({"Name": "Item", "Type": "struct<a:int>"})
    );
    assert_eq!(t["CreateTime"], t["UpdateTime"]);
    let again = json!({"DatabaseName": "db", "TableInput": table_input("orders", &[])});
    assert_eq!(
        h.err("CreateTable", again).await,
        (
            "AlreadyExistsException".into(),
            "Table already exists.".into()
        )
    );
    let nowhere = json!({"DatabaseName": "nope", "TableInput": table_input("t", &[])});
    assert_eq!(
        h.err("CreateTable", nowhere).await,
        (
            "EntityNotFoundException".into(),
            "Database nope not found.".into()
        )
    );
    let cols = h
        .glue
        .table_columns(None, "DB", "Orders", None)
        .await
        .unwrap();
    assert_eq!(
        cols,
        columns(&[("id", "bigint"), ("Item", "struct<a:int>")])
    );
    let missing = h.glue.table_columns(None, "db", "other", None).await;
    assert_eq!(
        missing,
        Err(TableLookupError::TableNotFound("other".into()))
    );
    assert_eq!(missing.unwrap_err().to_string(), "Table other not found.");
}

#[tokio::test]
async fn updates_make_versions_that_survive_a_reopen() {
    let h = Harness::new();
    h.database("db").await;
    h.table("db", "t", &[("a", "int")]).await;
    for cols in [&[("a", "bigint")][..], &[("a", "bigint"), ("b", "string")]] {
        let update = json!({"DatabaseName": "db", "TableInput": table_input("t", cols)});
        h.ok("UpdateTable", update).await;
    }
    let h = h.reopen();
    let t = h
        .ok("GetTable", json!({"DatabaseName": "db", "Name": "t"}))
        .await["Table"]
        .clone();
    assert_eq!(t["VersionId"], "2");
    assert!(t["UpdateTime"].as_f64() >= t["CreateTime"].as_f64());
    let all = h
        .ok(
            "GetTableVersions",
            json!({"DatabaseName": "db", "TableName": "t"}),
        )
        .await;
    assert_eq!(versions(&all), ["2", "1", "0"]);
    let first = h
        .ok(
            "GetTableVersions",
            json!({"DatabaseName": "db", "TableName": "t", "MaxResults": 2}),
        )
        .await;
    assert_eq!(versions(&first), ["2", "1"]);
    let rest = json!({"DatabaseName": "db", "TableName": "t", "NextToken": first["NextToken"]});
    let rest = h.ok("GetTableVersions", rest).await;
    assert_eq!(versions(&rest), ["0"]);
    assert!(rest.get("NextToken").is_none());
    let one = json!({"DatabaseName": "db", "TableName": "t", "VersionId": "1"});
    let one = h.ok("GetTableVersion", one).await["TableVersion"].clone();
    assert_eq!(one["VersionId"], "1");
    assert_eq!(
        one["Table"]["StorageDescriptor"]["Columns"],
        json!([{"Name": "a", "Type": "bigint"}])
    );
    let absent = json!({"DatabaseName": "db", "TableName": "t", "VersionId": "7"});
    assert_eq!(
        h.err("GetTableVersion", absent).await,
        (
            "EntityNotFoundException".into(),
            "Version 7 not found.".into()
        )
    );
    let g = &h.glue;
    let latest = columns(&[("a", "bigint"), ("b", "string")]);
    assert_eq!(
        g.table_columns(None, "db", "t", None).await.unwrap(),
        latest
    );
    assert_eq!(
        g.table_columns(None, "db", "t", Some("LATEST"))
            .await
            .unwrap(),
        latest
    );
    let first = g.table_columns(Some(ACCOUNT), "db", "t", Some("0")).await;
    assert_eq!(first.unwrap(), columns(&[("a", "int")]));
    let missing = g.table_columns(None, "db", "t", Some("9")).await;
    assert_eq!(missing, Err(TableLookupError::VersionNotFound("9".into())));
    let gone = g.table_columns(None, "nodb", "t", None).await.unwrap_err();
    assert_eq!(gone.to_string(), "Database nodb not found.");
}

#[tokio::test]
async fn skip_archive_and_version_checks() {
    let h = Harness::new();
    h.database("db").await;
    h.table("db", "t", &[("a", "int")]).await;
    let stale =
        json!({"DatabaseName": "db", "VersionId": "3", "TableInput": table_input("t", &[])});
    assert_eq!(
        h.err("UpdateTable", stale).await.0,
        "ConcurrentModificationException"
    );
    let skip = json!({"DatabaseName": "db", "VersionId": "0", "SkipArchive": true, "TableInput": table_input("t", &[("b", "int")])});
    h.ok("UpdateTable", skip).await;
    let h = h.reopen();
    let all = h
        .ok(
            "GetTableVersions",
            json!({"DatabaseName": "db", "TableName": "t"}),
        )
        .await;
    assert_eq!(versions(&all), ["1"], "version 0 was not archived");
    let missing = json!({"DatabaseName": "db", "TableInput": table_input("nope", &[])});
    assert_eq!(
        h.err("UpdateTable", missing).await,
        (
            "EntityNotFoundException".into(),
            "Table nope not found.".into()
        )
    );
}

#[tokio::test]
async fn get_tables_filters_by_hive_pattern_and_pages() {
    let h = Harness::new();
    h.database("db").await;
    for name in ["orders_2024", "orders_2025", "returns", "sales"] {
        h.table("db", name, &[("a", "int")]).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["TableList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["Name"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |expression: &str| json!({"DatabaseName": "db", "Expression": expression});
    assert_eq!(
        names(&h.ok("GetTables", list("orders*")).await),
        ["orders_2024", "orders_2025"]
    );
    assert_eq!(
        names(&h.ok("GetTables", list("ORDERS_.*5|sales")).await),
        ["orders_2025", "sales"]
    );
    assert_eq!(
        names(&h.ok("GetTables", list("sale")).await),
        Vec::<String>::new()
    );
    assert_eq!(names(&h.ok("GetTables", list("")).await).len(), 4);
    let (code, message) = h.err("GetTables", list("orders_[0-9]+")).await;
    assert_eq!(code, "InvalidInputException");
    assert!(message.contains("'[' is not supported"), "{message}");
    let first = h
        .ok("GetTables", json!({"DatabaseName": "db", "MaxResults": 3}))
        .await;
    assert_eq!(names(&first).len(), 3);
    let rest = json!({"DatabaseName": "db", "NextToken": first["NextToken"]});
    assert_eq!(names(&h.ok("GetTables", rest).await), ["sales"]);
    let nowhere = json!({"DatabaseName": "nope"});
    assert_eq!(
        h.err("GetTables", nowhere).await.1,
        "Database nope not found."
    );
}

#[tokio::test]
async fn table_inputs_are_checked() {
    let h = Harness::new();
    h.database("db").await;
    let mut bad_type = table_input("t", &[]);
    bad_type["StorageDescriptor"]["Columns"] = json!([{"Name": "a", "Type": 5}]);
    let body = json!({"DatabaseName": "db", "TableInput": bad_type});
    assert_eq!(h.err("CreateTable", body).await.0, "SerializationException");
    let mut no_name = table_input("t", &[]);
    no_name["StorageDescriptor"]["Columns"] =
        json!([{"Name": "a", "Type": "int"}, {"Type": "int"}]);
    let body = json!({"DatabaseName": "db", "TableInput": no_name});
    assert_eq!(
        h.err("CreateTable", body).await,
        ("ValidationException".into(), "1 validation error detected: Value null at 'tableInput.storageDescriptor.columns.2.member.name' failed to satisfy constraint: Member must not be null".into())
    );
    let iceberg = json!({"DatabaseName": "db", "Name": "t", "OpenTableFormatInput": {"IcebergInput": {"MetadataOperation": "CREATE"}}});
    let (code, message) = h.err("CreateTable", iceberg).await;
    assert_eq!(code, "InvalidInputException");
    assert!(message.contains("OpenTableFormatInput"), "{message}");
    let no_input = json!({"DatabaseName": "db", "Name": "t"});
    assert_eq!(
        h.err("CreateTable", no_input).await.0,
        "ValidationException"
    );
}

#[tokio::test]
async fn deleting_a_table_deletes_every_version() {
    let h = Harness::new();
    h.database("db").await;
    h.table("db", "t", &[("a", "int")]).await;
    h.ok(
        "UpdateTable",
        json!({"DatabaseName": "db", "TableInput": table_input("t", &[])}),
    )
    .await;
    h.ok("DeleteTable", json!({"DatabaseName": "db", "Name": "T"}))
        .await;
    let h = h.reopen();
    let get = json!({"DatabaseName": "db", "Name": "t"});
    assert_eq!(h.err("GetTable", get.clone()).await.1, "Table t not found.");
    assert_eq!(h.err("DeleteTable", get).await.0, "EntityNotFoundException");
    h.table("db", "t", &[("b", "int")]).await;
    let versions_of_new = json!({"DatabaseName": "db", "TableName": "t"});
    let all = h.ok("GetTableVersions", versions_of_new).await;
    assert_eq!(versions(&all), ["0"], "a new table starts over");
}
