"""The Glue Data Catalog subset on Spate's port with boto3's Glue client: databases, tables as
Firehose record format conversion reads them, table versions, Glue's errors and paginators, and
the catalog surviving a restart of a durable server."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from spate_support import ServerFactory, raw_call, unique_name

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    with ServerFactory(tmp_path_factory) as f:
        yield f


@pytest.fixture(scope="module")
def server(factory):
    return factory("durable")


@pytest.fixture(scope="module")
def glue(server):
    return server.client("glue")


def error(e: pytest.ExceptionInfo) -> tuple[str, str]:
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def db_name() -> str:
    return unique_name("db").replace("-", "_")


def table_input(name: str, columns: list[tuple[str, str]]) -> dict:
    """A table as a Firehose Parquet conversion setup creates it."""
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet"},
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": "s3://bucket/orders/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    }


def test_databases_are_created_got_listed_and_deleted(glue):
    name = db_name()
    glue.create_database(DatabaseInput={"Name": name.upper(), "Description": "orders", "Parameters": {"k": "v"}})
    db = glue.get_database(Name=name)["Database"]
    assert db["Name"] == name, "Glue lower-cases names"
    assert db["Description"] == "orders"
    assert db["Parameters"] == {"k": "v"}
    assert db["CatalogId"] == ACCOUNT
    assert db["CreateTime"].year >= 2024
    with pytest.raises(ClientError) as e:
        glue.create_database(DatabaseInput={"Name": name})
    assert error(e) == ("AlreadyExistsException", "Database already exists.")
    listed = [d["Name"] for page in glue.get_paginator("get_databases").paginate(PaginationConfig={"PageSize": 1})
              for d in page["DatabaseList"]]
    assert name in listed
    assert listed == sorted(listed)
    glue.delete_database(Name=name)
    with pytest.raises(ClientError) as e:
        glue.get_database(Name=name)
    assert error(e) == ("EntityNotFoundException", f"Database {name} not found.")


def test_tables_versions_and_their_columns(glue):
    db = db_name()
    glue.create_database(DatabaseInput={"Name": db})
    glue.create_table(DatabaseName=db, TableInput=table_input("Orders", [("id", "bigint"), ("item", "string")]))
    table = glue.get_table(DatabaseName=db, Name="orders")["Table"]
    assert table["Name"] == "orders"
    assert table["DatabaseName"] == db
    assert table["VersionId"] == "0"
    assert table["IsRegisteredWithLakeFormation"] is False
    assert table["StorageDescriptor"]["Columns"] == [{"Name": "id", "Type": "bigint"}, {"Name": "item", "Type": "string"}]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    with pytest.raises(ClientError) as e:
        glue.create_table(DatabaseName=db, TableInput=table_input("orders", []))
    assert error(e) == ("AlreadyExistsException", "Table already exists.")

    glue.update_table(DatabaseName=db, TableInput=table_input("orders", [("id", "bigint"), ("item", "string"), ("qty", "int")]))
    glue.update_table(DatabaseName=db, VersionId="1", TableInput=table_input("orders", [("id", "bigint")]))
    assert glue.get_table(DatabaseName=db, Name="orders")["Table"]["VersionId"] == "2"
    versions = [v["VersionId"] for page in glue.get_paginator("get_table_versions").paginate(
        DatabaseName=db, TableName="orders", PaginationConfig={"PageSize": 2}) for v in page["TableVersions"]]
    assert versions == ["2", "1", "0"]
    one = glue.get_table_version(DatabaseName=db, TableName="orders", VersionId="1")["TableVersion"]
    assert [c["Name"] for c in one["Table"]["StorageDescriptor"]["Columns"]] == ["id", "item", "qty"]
    with pytest.raises(ClientError) as e:
        glue.update_table(DatabaseName=db, VersionId="0", TableInput=table_input("orders", []))
    assert error(e)[0] == "ConcurrentModificationException"
    with pytest.raises(ClientError) as e:
        glue.get_table_version(DatabaseName=db, TableName="orders", VersionId="9")
    assert error(e) == ("EntityNotFoundException", "Version 9 not found.")

    glue.delete_table(DatabaseName=db, Name="orders")
    with pytest.raises(ClientError) as e:
        glue.get_table(DatabaseName=db, Name="orders")
    assert error(e) == ("EntityNotFoundException", "Table orders not found.")


def test_get_tables_filters_and_pages(glue):
    db = db_name()
    glue.create_database(DatabaseInput={"Name": db})
    for name in ["orders_2024", "orders_2025", "returns", "sales"]:
        glue.create_table(DatabaseName=db, TableInput=table_input(name, [("a", "int")]))
    names = [t["Name"] for page in glue.get_paginator("get_tables").paginate(
        DatabaseName=db, PaginationConfig={"PageSize": 3}) for t in page["TableList"]]
    assert names == ["orders_2024", "orders_2025", "returns", "sales"]
    assert [t["Name"] for t in glue.get_tables(DatabaseName=db, Expression="orders*")["TableList"]] == ["orders_2024", "orders_2025"]
    assert [t["Name"] for t in glue.get_tables(DatabaseName=db, Expression="returns|sales")["TableList"]] == ["returns", "sales"]
    with pytest.raises(ClientError) as e:
        glue.get_tables(DatabaseName=db, Expression="orders_(2024)")
    code, message = error(e)
    assert code == "InvalidInputException" and "not supported" in message
    with pytest.raises(ClientError) as e:
        glue.get_tables(DatabaseName=unique_name("nodb"))
    assert error(e)[0] == "EntityNotFoundException"


def test_deleting_a_database_deletes_its_tables(glue):
    db = db_name()
    glue.create_database(DatabaseInput={"Name": db})
    glue.create_table(DatabaseName=db, TableInput=table_input("t", [("a", "int")]))
    glue.delete_database(Name=db)
    glue.create_database(DatabaseInput={"Name": db})
    assert glue.get_tables(DatabaseName=db)["TableList"] == []


def test_errors_use_glues_members_and_validation(server, glue):
    response = raw_call(server.endpoint, None, {"Name": "missing_db"}, target="AWSGlue.GetDatabase")
    assert response.status == 400
    assert response.headers["x-amzn-errortype"].startswith("EntityNotFoundException")
    assert response.json() == {"__type": "EntityNotFoundException", "Message": "Database missing_db not found."}
    with pytest.raises(ClientError) as e:
        glue.get_database(Name="x", CatalogId="111111111111")
    assert error(e) == ("EntityNotFoundException", "Catalog 111111111111 not found.")
    with pytest.raises(ClientError) as e:
        glue.create_database(DatabaseInput={"Name": "a" * 256})
    code, message = error(e)
    assert code == "ValidationException"
    assert "at 'databaseInput.name' failed to satisfy constraint: Member must have length less than or equal to 255" in message
    unknown = raw_call(server.endpoint, None, {}, target="AWSGlue.GetPartitions")
    assert unknown.status == 400
    assert unknown.error_type == "UnknownOperationException"


def test_the_catalog_survives_a_restart(factory):
    server = factory("durable")
    glue = server.client("glue")
    db = db_name()
    glue.create_database(DatabaseInput={"Name": db})
    glue.create_table(DatabaseName=db, TableInput=table_input("kept", [("a", "int")]))
    glue.update_table(DatabaseName=db, TableInput=table_input("kept", [("a", "int"), ("b", "string")]))
    glue.create_table(DatabaseName=db, TableInput=table_input("dropped", [("a", "int")]))
    glue.delete_table(DatabaseName=db, Name="dropped")
    server.restart()  # kill -9, then start on the same data directory
    glue = server.client("glue")
    table = glue.get_table(DatabaseName=db, Name="kept")["Table"]
    assert table["VersionId"] == "1"
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["a", "b"]
    versions = glue.get_table_versions(DatabaseName=db, TableName="kept")["TableVersions"]
    assert [v["VersionId"] for v in versions] == ["1", "0"]
    assert [t["Name"] for t in glue.get_tables(DatabaseName=db)["TableList"]] == ["kept"]
