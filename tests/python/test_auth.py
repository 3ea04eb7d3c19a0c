"""SigV4 verification against the binary with --credentials-file: boto3 (Kinesis JSON, Firehose,
the Lambda REST API) signs with the configured keys and works; a wrong secret, an unknown key,
a missing session token, a tampered body and an expired signature are refused with AWS's
exceptions; without credentials Spate will not listen beyond loopback."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import subprocess
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from spate_support import REGION, ServerFactory, spate_bin

KEYS = """
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
principal = "arn:aws:iam::000000000000:user/alice"

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
principal = "arn:aws:iam::000000000000:user/bob"
policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kinesis:List*", "kinesis:Describe*"], "Resource": "*"}]}'

[[credentials]]
access_key_id = "AKIDDAVE"
secret_access_key = "dave-secret"
principal = "arn:aws:iam::000000000000:user/dave"
policy = '{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]}'

[[credentials]]
access_key_id = "AKIDERIN"
secret_access_key = "erin-secret"
principal = "arn:aws:iam::000000000000:user/erin"
policy = '{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}'

[[credentials]]
access_key_id = "AKIDCAROL"
secret_access_key = "carol-secret"
principal = "arn:aws:iam::222222222222:user/carol"
policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}'

[[credentials]]
access_key_id = "ASIATEMP"
secret_access_key = "temp-secret"
principal = "arn:aws:sts::000000000000:assumed-role/r/session"
session_token = "the-session-token"
"""


@pytest.fixture(scope="module")
def audit_path(tmp_path_factory):
    return tmp_path_factory.mktemp("audit") / "audit.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory, audit_path):
    path = tmp_path_factory.mktemp("keys") / "credentials.toml"
    path.write_text(KEYS)
    with ServerFactory(tmp_path_factory) as factory:
        yield factory("memory", extra_args=["--credentials-file", str(path), "--audit-log", str(audit_path)])


def client(server, service="kinesis", key="AKIDALICE", secret="alice-secret", token=None):
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}),
    )


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_the_configured_keys_work_for_every_service(server):
    assert "StreamNames" in client(server).list_streams()
    assert "DeliveryStreamNames" in client(server, "firehose").list_delivery_streams()
    lam = client(server, "lambda")
    assert "Functions" in lam.list_functions()
    lam.create_function(FunctionName="f", Runtime="provided.al2023", Role="arn:aws:iam::000000000000:role/r",
                        Handler="x", Code={}, Environment={"Variables": {"SPATE_FUNCTION_URL": "http://127.0.0.1:9/"}})
    # An ARN in the path: its escaped colons are signed escaped once more, as the SDKs do.
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    assert lam.get_function(FunctionName=arn)["Configuration"]["FunctionName"] == "f"
    temp = client(server, key="ASIATEMP", secret="temp-secret", token="the-session-token")
    assert "StreamNames" in temp.list_streams()


def test_wrong_secrets_unknown_keys_and_missing_tokens_are_refused(server):
    with pytest.raises(ClientError) as e:
        client(server, secret="wrong").list_streams()
    assert code(e.value) == "InvalidSignatureException"
    assert e.value.response["Error"]["Message"].startswith("The request signature we calculated does not match")
    with pytest.raises(ClientError) as e:
        client(server, key="AKIDNOBODY").list_streams()
    assert code(e.value) == "UnrecognizedClientException"
    assert e.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    with pytest.raises(ClientError) as e:
        client(server, key="ASIATEMP", secret="temp-secret").list_streams()
    assert code(e.value) == "UnrecognizedClientException"
    with pytest.raises(ClientError) as e:
        client(server, "lambda", secret="wrong").list_functions()
    assert code(e.value) == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def sign(endpoint: str, body: bytes, when: datetime.datetime, secret: str = "alice-secret") -> dict[str, str]:
    """SigV4 headers for a Kinesis ListStreams POST, computed here from the published algorithm."""
    host = endpoint.removeprefix("http://")
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{REGION}/kinesis/aws4_request"
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-date": amz_date,
               "x-amz-target": "Kinesis_20131202.ListStreams"}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
                           hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential=AKIDALICE/{scope}, SignedHeaders={signed}, Signature={signature}"
    return headers


def post(endpoint: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_tampered_bodies_and_expired_signatures_are_refused(server):
    now = datetime.datetime.now(datetime.timezone.utc)
    body = b"{}"
    status, _ = post(server.endpoint, sign(server.endpoint, body, now), body)
    assert status == 200
    status, answer = post(server.endpoint, sign(server.endpoint, body, now), b'{"Limit": 1}')
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    old = now - datetime.timedelta(minutes=10)
    status, answer = post(server.endpoint, sign(server.endpoint, body, old), body)
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    assert answer["message"].startswith(f"Signature expired: {old.strftime('%Y%m%dT%H%M%SZ')} is now earlier than ")
    assert answer["message"].endswith(" - 5 min.)")


def test_health_answers_without_a_signature(server):
    with urllib.request.urlopen(server.endpoint + "/health", timeout=10) as response:
        assert response.status == 200


def test_without_credentials_spate_will_not_listen_beyond_loopback():
    done = subprocess.run([spate_bin(), "serve", "--in-memory", "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0 without credentials" in done.stderr


def test_identity_and_resource_policies_decide_as_aws_decides(server):
    from spate_support import stream_arn, unique_name

    alice = client(server)
    bob = client(server, key="AKIDBOB", secret="bob-secret")
    carol = client(server, key="AKIDCAROL", secret="carol-secret")
    name = unique_name("authz")
    assert "StreamNames" in bob.list_streams()
    with pytest.raises(ClientError) as e:
        bob.create_stream(StreamName=name, ShardCount=1)
    assert code(e.value) == "AccessDeniedException"
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: kinesis:CreateStream on resource: "
        f"arn:aws:kinesis:us-east-1:000000000000:stream/{name} because no identity-based policy allows the "
        f"kinesis:CreateStream action")
    alice.create_stream(StreamName=name, ShardCount=1)
    alice.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    # Another account: its own policy allows, but the stream's does not (yet).
    with pytest.raises(ClientError) as e:
        carol.put_record(StreamARN=stream_arn(name), Data=b"x", PartitionKey="k")
    assert code(e.value) == "AccessDeniedException"
    assert e.value.response["Error"]["Message"].endswith("because no resource-based policy allows the kinesis:PutRecord action")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kinesis:PutRecord", "Resource": stream_arn(name)},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::000000000000:user/alice"}, "Action": "kinesis:PutRecord", "Resource": stream_arn(name)},
    ]}
    alice.put_resource_policy(ResourceARN=stream_arn(name), Policy=json.dumps(policy))
    carol.put_record(StreamARN=stream_arn(name), Data=b"y", PartitionKey="k")
    with pytest.raises(ClientError) as e:
        alice.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    assert e.value.response["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")


def test_conditions_see_the_clients_address(server):
    assert "StreamNames" in client(server, key="AKIDDAVE", secret="dave-secret").list_streams()
    with pytest.raises(ClientError) as e:
        client(server, key="AKIDERIN", secret="erin-secret").list_streams()
    assert code(e.value) == "AccessDeniedException"


def test_the_audit_log_records_control_plane_calls_and_refusals(server, audit_path):
    from spate_support import unique_name

    name = unique_name("audited")
    with pytest.raises(ClientError):
        client(server, key="AKIDBOB", secret="bob-secret").create_stream(StreamName=name, ShardCount=1)
    alice = client(server)
    alice.create_stream(StreamName=name, ShardCount=1)
    alice.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    with pytest.raises(ClientError):
        client(server, secret="wrong").list_streams()
    lines = [json.loads(line) for line in audit_path.read_text().splitlines()]
    mine = [l for l in lines if l["resource"].endswith(f"stream/{name}")]
    assert {"principal": "arn:aws:iam::000000000000:user/bob", "action": "kinesis:CreateStream",
            "outcome": "denied: AccessDeniedException", "source": "127.0.0.1"}.items() <= mine[0].items()
    assert mine[1]["principal"] == "arn:aws:iam::000000000000:user/alice" and mine[1]["outcome"] == "allowed"
    assert not any(l["action"] == "kinesis:PutRecord" for l in mine), "allowed data-plane calls are not logged"
    assert any(l["principal"] == "AKIDALICE" and l["outcome"] == "denied: InvalidSignatureException" for l in lines)
    assert all(isinstance(l["time"], int) for l in lines)


def test_lambda_calls_are_authorized_and_audited_like_the_json_services(server, audit_path):
    from spate_support import unique_name

    name = unique_name("fn")
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    alice = client(server, "lambda")
    alice.create_function(FunctionName=name, Runtime="provided.al2023", Role="arn:aws:iam::000000000000:role/r",
                          Handler="x", Code={}, Environment={"Variables": {"SPATE_FUNCTION_URL": "http://127.0.0.1:9/"}})
    # Bob's policy allows kinesis:List* and kinesis:Describe* only.
    bob = client(server, "lambda", key="AKIDBOB", secret="bob-secret")
    with pytest.raises(ClientError) as e:
        bob.get_function(FunctionName=name)
    assert code(e.value) == "AccessDeniedException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: lambda:GetFunction on resource: "
        f"{arn} because no identity-based policy allows the lambda:GetFunction action")
    with pytest.raises(ClientError) as e:
        bob.list_event_source_mappings()
    assert code(e.value) == "AccessDeniedException"
    assert "lambda:ListEventSourceMappings on resource: *" in e.value.response["Error"]["Message"]
    # Carol's account is another: her own policy allows only kinesis:*.
    with pytest.raises(ClientError) as e:
        client(server, "lambda", key="AKIDCAROL", secret="carol-secret").delete_function(FunctionName=arn)
    assert code(e.value) == "AccessDeniedException"
    alice.delete_function(FunctionName=name)

    lines = [json.loads(line) for line in audit_path.read_text().splitlines()]
    mine = [(l["principal"].rsplit("/", 1)[-1], l["action"], l["outcome"]) for l in lines if l["resource"] == arn]
    assert mine == [
        ("alice", "lambda:CreateFunction", "allowed"),
        ("bob", "lambda:GetFunction", "denied: AccessDeniedException"),
        ("carol", "lambda:DeleteFunction", "denied: AccessDeniedException"),
        ("alice", "lambda:DeleteFunction", "allowed"),
    ]


def test_dynamodb_calls_are_authorized_on_the_table_arn(server):
    from spate_support import unique_name

    name = unique_name("ddb")
    alice = client(server, "dynamodb")
    alice.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    with pytest.raises(ClientError) as e:
        client(server, "dynamodb", key="AKIDBOB", secret="bob-secret").put_item(TableName=name, Item={"k": {"S": "x"}})
    assert code(e.value) == "AccessDeniedException"
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: dynamodb:PutItem on resource: "
        f"arn:aws:dynamodb:us-east-1:000000000000:table/{name} because no identity-based policy allows the dynamodb:PutItem action")


def test_glue_calls_are_authorized_on_glue_arns(server):
    from spate_support import unique_name

    db = unique_name("db").replace("-", "_")
    alice = client(server, "glue")
    alice.create_database(DatabaseInput={"Name": db})
    alice.create_table(DatabaseName=db, TableInput={"Name": "t", "StorageDescriptor": {"Columns": [{"Name": "a", "Type": "int"}]}})
    bob = client(server, "glue", key="AKIDBOB", secret="bob-secret")
    with pytest.raises(ClientError) as e:
        bob.get_table(DatabaseName=db, Name="T")
    assert code(e.value) == "AccessDeniedException"
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: glue:GetTable on resource: "
        f"arn:aws:glue:us-east-1:000000000000:table/{db}/t because no identity-based policy allows the glue:GetTable action")
    with pytest.raises(ClientError) as e:
        bob.get_databases()
    assert "glue:GetDatabases on resource: arn:aws:glue:us-east-1:000000000000:catalog" in e.value.response["Error"]["Message"]
