"""The front door's protocol edges against the real binary, as AWS answers them (issue 9, §2).

Texts and statuses follow kinesalite's connection tests, which were checked against AWS; where
the issue and those tests disagree, docs/compatibility.md says which was followed and why.
"""

from __future__ import annotations

import base64
import http.client
import json
import re

import pytest

from spate_support import JSON_CONTENT_TYPE, CBOR_CONTENT_TYPE, raw_call, unique_name

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SIGNED = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00"
ACCESS_DENIED = (
    "<AccessDeniedException>\n"
    "  <Message>Unable to determine service/operation name to be authorized</Message>\n"
    "</AccessDeniedException>\n"
)
MISSING_TOKEN = (
    "<MissingAuthenticationTokenException>\n"
    "  <Message>Missing Authentication Token</Message>\n"
    "</MissingAuthenticationTokenException>\n"
)


def request(endpoint, method="POST", path="/", headers=None, body=b""):
    conn = http.client.HTTPConnection(endpoint.removeprefix("http://"), timeout=10)
    try:
        conn.request(method, path, body=body if body else None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def signed(**extra):
    headers = {"Authorization": SIGNED, "X-Amz-Date": "20240101T000000Z"}
    headers.update(extra)
    return headers


def assert_request_ids(headers):
    assert UUID.match(headers["x-amzn-requestid"]), headers
    assert len(base64.b64decode(headers["x-amz-id-2"])) == 72, headers


@pytest.mark.parametrize("method", ["GET", "PUT", "OPTIONS", "POST"])
def test_requests_nobody_can_route_are_403_xml(endpoint, method):
    status, headers, body = request(endpoint, method)
    assert (status, body.decode()) == (403, MISSING_TOKEN)
    assert "content-type" not in headers
    assert_request_ids(headers)
    status, headers, body = request(endpoint, method, headers=signed())
    assert (status, body.decode()) == (403, ACCESS_DENIED)


def test_cors_preflight_and_exposed_headers(endpoint):
    asked = {"Origin": "https://example.com", "Access-Control-Request-Headers": "a, b, c", "Access-Control-Request-Method": "d"}
    status, headers, body = request(endpoint, "OPTIONS", headers=asked)
    assert (status, body) == (200, b"")
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-headers"] == "a, b, c"
    assert headers["access-control-allow-methods"] == "d"
    assert headers["access-control-max-age"] == "172800"
    assert UUID.match(headers["x-amzn-requestid"])
    assert "x-amz-id-2" not in headers
    status, headers, _ = request(endpoint, headers={"Origin": "x", **signed()})
    assert status == 403
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-expose-headers"] == (
        "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"
    )


def test_legacy_application_json_gets_the_legacy_envelope(endpoint):
    target = {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/json"}
    status, headers, body = request(endpoint, headers=signed(**target), body=b"{}")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "Output": {"__type": "com.amazon.coral.service#UnknownOperationException", "message": None},
        "Version": "1.0",
    }
    status, _, body = request(endpoint, headers=signed(**target), body=b"hello")
    assert json.loads(body)["Output"] == {
        "__type": "com.amazon.coral.service#SerializationException",
        "Message": None,
    }


def test_empty_and_unparsable_bodies(endpoint):
    json_headers = signed(**{"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    for body in (b"", b"hello", b"[]"):
        status, headers, reply = request(endpoint, headers=json_headers, body=body)
        assert (status, json.loads(reply)) == (400, {"__type": "SerializationException"}), body
        assert headers["x-amzn-errortype"] == "SerializationException"
    unknown = dict(json_headers, **{"X-Amz-Target": "Kinesis_20131202.ListStream"})
    status, _, reply = request(endpoint, headers=unknown, body=b"{}")
    assert (status, json.loads(reply)) == (400, {"__type": "UnknownOperationException"})
    # An empty body in any other content type is answered in CBOR.
    other = dict(json_headers, **{"Content-Type": "application/x-amz-json-1.0"})
    status, headers, reply = request(endpoint, headers=other)
    assert status == 400 and headers["content-type"] == CBOR_CONTENT_TYPE
    assert b"SerializationException" in reply
    # A body in a content type nobody speaks, for a known operation.
    text = dict(json_headers, **{"Content-Type": "text/plain"})
    status, _, reply = request(endpoint, headers=text, body=b"{}")
    assert (status, reply) == (404, b"<UnknownOperationException/>\n")


def test_credentials_must_be_present_and_complete(endpoint):
    base = {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": "Kinesis_20131202.ListStreams"}
    status, _, reply = request(endpoint, headers=base, body=b"{}")
    assert (status, json.loads(reply)) == (
        400,
        {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"},
    )
    status, _, reply = request(endpoint, headers=dict(base, Authorization="X"), body=b"{}")
    assert json.loads(reply) == {
        "__type": "IncompleteSignatureException",
        "message": "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization "
        "header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X",
    }
    status, _, reply = request(endpoint, path="/?X-Amz-Algorithm", headers=dict(base, Authorization="X"), body=b"{}")
    assert json.loads(reply)["__type"] == "InvalidSignatureException"
    status, _, reply = request(
        endpoint, path="/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d", headers=base, body=b"{}"
    )
    assert json.loads(reply)["message"] == (
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."
    )


def test_auth_none_accepts_unsigned_requests(spawn_server):
    server = spawn_server("memory", extra_args=["--auth", "none"])
    base = {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": "Kinesis_20131202.ListStreams"}
    status, _, reply = request(server.endpoint, headers=base, body=b"{}")
    assert status == 200, reply
    assert "StreamNames" in json.loads(reply)


def test_operations_without_output_answer_an_empty_body(endpoint):
    resp = raw_call(endpoint, "CreateStream", {"StreamName": unique_name("empty"), "ShardCount": 1})
    assert (resp.status, resp.body) == (200, b"")
    assert resp.headers["content-type"] == JSON_CONTENT_TYPE


def test_health_and_metrics(endpoint):
    status, _, body = request(endpoint, "GET", "/health")
    assert (status, body) == (200, b"ok\n")
    raw_call(endpoint, "ListStreams", {})
    status, headers, body = request(endpoint, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert 'spate_requests_total{service="Kinesis_20131202",operation="ListStreams",status="200"}' in text
    assert "spate_connections_open" in text


def test_a_declared_body_over_the_limit_is_refused_at_once(endpoint):
    host, port = endpoint.removeprefix("http://").split(":")
    import socket

    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 1000000000000\r\n\r\n"
        )
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply
