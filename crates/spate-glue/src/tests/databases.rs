use super::*;
use spate_catalog::{Catalog, DocumentKind};

#[tokio::test]
async fn databases_are_created_got_and_deleted_by_lower_cased_name() {
    let h = Harness::new();
    h.ok(
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": "Sales", "Description": "orders", "Parameters": {"k": "v"}}}),
    )
    .await;
    let db = h.ok("GetDatabase", json!({"Name": "SALES"})).await["Database"].clone();
    assert_eq!(db["Name"], "sales");
    assert_eq!(db["Description"], "orders");
    assert_eq!(db["Parameters"], json!({"k": "v"}));
    assert_eq!(db["CatalogId"], ACCOUNT);
    assert!(
        db["CreateTime"].as_f64().unwrap() > 1.7e9,
        "epoch seconds: {db}"
    );
    let again = h
        .err(
            "CreateDatabase",
            json!({"DatabaseInput": {"Name": "sales"}}),
        )
        .await;
    assert_eq!(
        again,
        (
            "AlreadyExistsException".into(),
            "Database already exists.".into()
        )
    );
    assert_eq!(
        h.ok("DeleteDatabase", json!({"Name": "Sales"})).await,
        json!({})
    );
    assert_eq!(
        h.err("GetDatabase", json!({"Name": "sales"})).await,
        (
            "EntityNotFoundException".into(),
            "Database sales not found.".into()
        )
    );
    assert_eq!(
        h.err("DeleteDatabase", json!({"Name": "sales"})).await.0,
        "EntityNotFoundException"
    );
}

#[tokio::test]
async fn get_databases_pages_in_name_order() {
    let h = Harness::new();
    for name in ["d4", "d2", "d0", "d3", "d1"] {
        h.database(name).await;
    }
    let (mut seen, mut token) = (Vec::new(), None::<String>);
    loop {
        let mut body = json!({"MaxResults": 2});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = h.ok("GetDatabases", body).await;
        let names = page["DatabaseList"].as_array().unwrap();
        assert!(names.len() <= 2);
        seen.extend(
            names
                .iter()
                .map(|d| d["Name"].as_str().unwrap().to_string()),
        );
        match page.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["d0", "d1", "d2", "d3", "d4"]);
    let names_only = h
        .ok("GetDatabases", json!({"AttributesToGet": ["NAME"]}))
        .await;
    assert_eq!(names_only["DatabaseList"][0], json!({"Name": "d0"}));
    let foreign = h
        .ok("GetDatabases", json!({"ResourceShareType": "FOREIGN"}))
        .await;
    assert_eq!(foreign, json!({"DatabaseList": []}));
    assert_eq!(
        h.err("GetDatabases", json!({"MaxResults": 101})).await,
        ("ValidationException".into(), "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100".into())
    );
    assert_eq!(
        h.err("GetDatabases", json!({"NextToken": "%%%"})).await.0,
        "InvalidInputException"
    );
}

#[tokio::test]
async fn inputs_are_checked_as_glue_checks_them() {
    let h = Harness::new();
    let long = "a".repeat(256);
    let (code, message) = h
        .err("CreateDatabase", json!({"DatabaseInput": {"Name": long}}))
        .await;
    assert_eq!(code, "ValidationException");
    assert!(
        message.ends_with("at 'databaseInput.name' failed to satisfy constraint: Member must have length less than or equal to 255"),
        "{message}"
    );
    let (code, message) = h
        .err(
            "CreateDatabase",
            json!({"DatabaseInput": {"Name": "a\u{1}b"}}),
        )
        .await;
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("Member must satisfy regular expression pattern"),
        "{message}"
    );
    assert_eq!(
        h.err("CreateDatabase", json!({})).await,
        ("ValidationException".into(), "1 validation error detected: Value null at 'databaseInput' failed to satisfy constraint: Member must not be null".into())
    );
    let (code, _) = h
        .err("CreateDatabase", json!({"DatabaseInput": {"Name": 5}}))
        .await;
    assert_eq!(code, "SerializationException");
    assert_eq!(
        h.err("GetDatabase", json!({})).await.1,
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn another_catalog_is_not_found() {
    let h = Harness::new();
    h.database("db").await;
    let foreign = json!({"CatalogId": "111111111111", "Name": "db"});
    assert_eq!(
        h.err("GetDatabase", foreign).await,
        (
            "EntityNotFoundException".into(),
            "Catalog 111111111111 not found.".into()
        )
    );
    let own = json!({"CatalogId": ACCOUNT, "Name": "db"});
    assert_eq!(h.ok("GetDatabase", own).await["Database"]["Name"], "db");
    let create = json!({"CatalogId": "111111111111", "DatabaseInput": {"Name": "x"}});
    assert_eq!(
        h.err("CreateDatabase", create).await.0,
        "EntityNotFoundException"
    );
    let columns = h
        .glue
        .table_columns(Some("111111111111"), "db", "t", None)
        .await;
    assert_eq!(
        columns,
        Err(crate::TableLookupError::DatabaseNotFound("db".into()))
    );
}

#[tokio::test]
async fn deleting_a_database_deletes_its_tables_durably() {
    let h = Harness::new();
    h.database("db").await;
    h.table("db", "t1", &[("a", "int")]).await;
    h.table("db", "t2", &[("a", "int")]).await;
    h.ok(
        "UpdateTable",
        json!({"DatabaseName": "db", "TableInput": table_input("t1", &[("a", "bigint")])}),
    )
    .await;
    h.ok("DeleteDatabase", json!({"Name": "db"})).await;
    let kind = DocumentKind("glue:catalog");
    assert!(
        h.catalog.documents(kind).unwrap().is_empty(),
        "nothing of db is left"
    );
    let h = h.reopen();
    h.database("db").await;
    assert_eq!(
        h.err("GetTable", json!({"DatabaseName": "db", "Name": "t1"}))
            .await,
        (
            "EntityNotFoundException".into(),
            "Table t1 not found.".into()
        )
    );
}

#[tokio::test]
async fn a_catalog_written_by_a_newer_spate_is_refused() {
    let h = Harness::new();
    h.database("db").await;
    let kind = DocumentKind("glue:catalog");
    let (key, bytes) = h.catalog.documents(kind).unwrap().remove(0);
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    doc["format_version"] = json!(99);
    h.catalog
        .put_document(kind, &key, doc.to_string().as_bytes())
        .unwrap();
    let refused = Glue::open(config(), h.catalog.clone()).err().unwrap();
    assert!(refused.contains("newer Spate (format 99)"), "{refused}");
}
