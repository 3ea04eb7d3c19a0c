"""Firehose record format conversion end to end: a Glue table made with boto3's glue client
on the same port, a delivery stream converting JSON to Parquet by its columns, the objects
read back from a real S3 server (SeaweedFS) by pyarrow, an independent Parquet reader, with
the table's types and values; records that do not fit go to `format-conversion-failed`."""

from __future__ import annotations

import base64
import io
import json
import uuid
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from spate_support import raw_call

ROLE = "arn:aws:iam::000000000000:role/firehose"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, seaweedfs):
    from spate_support import ServerFactory

    with ServerFactory(tmp_path_factory) as factory:
        yield factory("durable", extra_args=["--s3-endpoint", seaweedfs.endpoint])


@pytest.fixture
def bucket(seaweedfs) -> str:
    name = "conv-" + uuid.uuid4().hex[:12]
    seaweedfs.client().create_bucket(Bucket=name)
    return name


def make_table(glue, columns: list[tuple[str, str]]) -> tuple[str, str]:
    database = unique("db")
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "events",
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    })
    return database, "events"


def conversion(database: str, table: str, deserializer=None, serializer=None) -> dict:
    return {
        "Enabled": True,
        "SchemaConfiguration": {"RoleARN": ROLE, "DatabaseName": database, "TableName": table},
        "InputFormatConfiguration": {"Deserializer": deserializer or {"OpenXJsonSerDe": {}}},
        "OutputFormatConfiguration": {"Serializer": serializer or {"ParquetSerDe": {}}},
    }


def create(firehose, bucket: str, config: dict) -> str:
    name = unique("conv").replace("_", "-")
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": "data/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "CompressionFormat": "UNCOMPRESSED",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 900},
        "DataFormatConversionConfiguration": config,
    })
    return name


def flush(server, name: str):
    return raw_call(server.endpoint, None, {"DeliveryStreamName": name},
                    target="SpateAdmin_20261126.FlushDeliveryStream")


def put_and_flush(server, firehose, name: str, records: list[bytes]) -> None:
    out = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])
    assert out["FailedPutCount"] == 0
    response = flush(server, name)
    assert response.status == 200, response.body


def objects(s3, bucket: str, prefix: str) -> list[tuple[str, bytes]]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [(o["Key"], s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed]


def test_json_is_converted_to_parquet_with_the_tables_types(server, seaweedfs, bucket):
    glue, firehose, s3 = server.client("glue"), server.client("firehose"), seaweedfs.client()
    database, table = make_table(glue, [
        ("ticker", "string"), ("price", "double"), ("qty", "int"), ("active", "boolean"),
        ("ts", "timestamp"), ("amount", "decimal(10,2)"), ("tags", "array<string>"),
        ("attrs", "map<string,bigint>"), ("point", "struct<x:int,y:int>"),
    ])
    name = create(firehose, bucket, conversion(database, table))
    put_and_flush(server, firehose, name, [
        b'{"ticker": "AAA", "price": 1.5, "qty": 10, "active": true, "ts": "2026-09-07 12:00:00",'
        b' "amount": "12.34", "tags": ["a", "b"], "attrs": {"k": 7}, "point": {"x": 1, "y": 2}}\n',
        b'{"ticker": "MISSING_FIELDS"}\n',
        b'{"ticker": "BAD", "price": "oops"}\n',
        b"this is not json at all\n",
    ])
    data = objects(s3, bucket, "data/")
    assert len(data) == 1, [k for k, _ in data]
    key, body = data[0]
    assert key.endswith(".parquet") and name in key
    parquet = pq.read_table(io.BytesIO(body))
    assert parquet.schema.field("ticker").type == pa.string()
    assert parquet.schema.field("price").type == pa.float64()
    assert parquet.schema.field("qty").type == pa.int32()
    assert parquet.schema.field("active").type == pa.bool_()
    assert pa.types.is_timestamp(parquet.schema.field("ts").type)
    assert parquet.schema.field("amount").type == pa.decimal128(10, 2)
    assert parquet.schema.field("tags").type == pa.list_(pa.string())
    assert parquet.schema.field("attrs").type == pa.map_(pa.string(), pa.int64())
    rows = parquet.to_pylist()
    assert [r["ticker"] for r in rows] == ["AAA", "MISSING_FIELDS"]
    full, sparse = rows
    assert (full["price"], full["qty"], full["active"]) == (1.5, 10, True)
    assert full["ts"] == datetime(2026, 9, 7, 12, 0, 0)
    assert str(full["amount"]) == "12.34"
    assert (full["tags"], full["attrs"], full["point"]) == (["a", "b"], [("k", 7)], {"x": 1, "y": 2})
    assert all(sparse[c] is None for c in ("price", "qty", "active", "ts", "amount", "tags", "attrs", "point"))

    errors = objects(s3, bucket, "errors/format-conversion-failed/")
    assert len(errors) == 1
    assert "." not in errors[0][0].rsplit("/", 1)[1], "error objects carry no extension"
    lines = [json.loads(line) for line in errors[0][1].decode().splitlines()]
    by_code = {line["lastErrorCode"]: line for line in lines}
    assert set(by_code) == {"DataFormatConversion.MalformedData", "DataFormatConversion.ParseError"}
    bad = by_code["DataFormatConversion.MalformedData"]
    assert base64.b64decode(bad["rawData"]) == b'{"ticker": "BAD", "price": "oops"}\n'
    assert bad["dataCatalogTable"]["databaseName"] == database
    assert bad["dataCatalogTable"]["tableName"] == table


def test_options_compression_and_table_updates(server, seaweedfs, bucket):
    glue, firehose, s3 = server.client("glue"), server.client("firehose"), seaweedfs.client()
    database, table = make_table(glue, [("ts_key", "timestamp"), ("a_b", "int")])
    config = conversion(
        database, table,
        deserializer={"HiveJsonSerDe": {"TimestampFormats": ["millis"]}},
        serializer={"ParquetSerDe": {"Compression": "GZIP", "WriterVersion": "V2",
                                     "EnableDictionaryCompression": False}})
    name = create(firehose, bucket, config)
    described = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    shown = described["Destinations"][0]["ExtendedS3DestinationDescription"]["DataFormatConversionConfiguration"]
    assert shown["OutputFormatConfiguration"]["Serializer"]["ParquetSerDe"]["Compression"] == "GZIP"
    assert shown["InputFormatConfiguration"]["Deserializer"]["HiveJsonSerDe"]["TimestampFormats"] == ["millis"]
    put_and_flush(server, firehose, name, [b'{"ts_key": 1757246400000, "a_b": 3}'])
    (_, body), = objects(s3, bucket, "data/")
    meta = pq.ParquetFile(io.BytesIO(body)).metadata
    assert meta.row_group(0).column(0).compression == "GZIP"
    assert pq.read_table(io.BytesIO(body)).to_pylist() == [{"ts_key": datetime(2025, 9, 7, 12, 0), "a_b": 3}]

    # The newest table version is read at each delivery: a column added by UpdateTable shows.
    glue.update_table(DatabaseName=database, TableInput={
        "Name": table, "StorageDescriptor": {"Columns": [
            {"Name": "ts_key", "Type": "timestamp"}, {"Name": "a_b", "Type": "int"},
            {"Name": "note", "Type": "string"}]}})
    put_and_flush(server, firehose, name, [b'{"a_b": 4, "note": "new"}'])
    newest = max(objects(s3, bucket, "data/"), key=lambda o: len(pq.read_table(io.BytesIO(o[1])).schema))
    assert pq.read_table(io.BytesIO(newest[1])).to_pylist() == [{"ts_key": None, "a_b": 4, "note": "new"}]


def test_conversions_spate_cannot_run_are_refused(server, bucket):
    firehose = server.client("firehose")
    for bad, wanted in [
        ({"OrcSerDe": {}}, "OrcSerDe is not supported"),
    ]:
        with pytest.raises(ClientError) as e:
            create(firehose, bucket, conversion("db", "t", serializer=bad))
        assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert wanted in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        firehose.create_delivery_stream(DeliveryStreamName=unique("c").replace("_", "-"),
                                        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "CompressionFormat": "GZIP",
            "DataFormatConversionConfiguration": conversion("db", "t")})
    assert "UNCOMPRESSED" in e.value.response["Error"]["Message"]


def test_a_missing_table_keeps_the_records_until_it_is_created(server, seaweedfs, bucket):
    glue, firehose, s3 = server.client("glue"), server.client("firehose"), seaweedfs.client()
    database = unique("db")
    name = create(firehose, bucket, conversion(database, "later"))
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b'{"n": 1}'}])
    response = flush(server, name)
    assert response.status == 500 and "later" in str(response.body), response.body
    assert objects(s3, bucket, "") == []
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "later", "StorageDescriptor": {"Columns": [{"Name": "n", "Type": "int"}]}})
    assert flush(server, name).status == 200
    (_, body), = objects(s3, bucket, "data/")
    assert pq.read_table(io.BytesIO(body)).to_pylist() == [{"n": 1}]
