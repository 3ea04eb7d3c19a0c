//! The Lambda REST API's answers: shapes, status codes, errors, Invoke.

use super::Harness;
use serde_json::{json, Value};
use std::io::Write;

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        for (name, text) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    buffer.into_inner()
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// Creates `echo` from a zip holding `app/main.py`; the created configuration and the zip.
async fn create_echo(h: &Harness) -> (Value, Vec<u8>, Value) {
    use base64::Engine;
    let source = "def handler(event, context):\n    if event.get('fail'):\n        raise KeyError('nope')\n    return {'echo': event, 'name': context.function_name}\n";
    let zip = zip_of(&[("app/main.py", source)]);
    let body = json!({
        "FunctionName": "echo",
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/lambda",
        "Handler": "app/main.handler",
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(&zip)},
    });
    let (status, f, _) = h.rest("POST", "/2015-03-31/functions", body.clone()).await;
    assert_eq!(status, 201, "{f}");
    (f, zip, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_created_from_zips_listed_and_deleted() {
    let h = Harness::new().await;
    let (f, zip, body) = create_echo(&h).await;
    assert_eq!(
        f["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
    assert_eq!(
        (
            f["State"].as_str(),
            f["Timeout"].as_u64(),
            f["MemorySize"].as_u64()
        ),
        (Some("Active"), Some(3), Some(128))
    );
    assert_eq!(f["CodeSize"], zip.len());
    let (status, e, headers) = h.rest("POST", "/2015-03-31/functions", body).await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (409, Some("ResourceConflictException")),
        "{e}"
    );
    let (status, list, _) = h
        .rest("GET", "/2015-03-31/functions/?MaxItems=50", Value::Null)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["Functions"][0]["FunctionName"], "echo");
    let (status, got, _) = h
        .rest("GET", "/2015-03-31/functions/echo", Value::Null)
        .await;
    assert_eq!(
        (status, got["Configuration"]["Handler"].as_str()),
        (200, Some("app/main.handler"))
    );
    let (status, _, _) = h
        .rest("DELETE", "/2015-03-31/functions/echo", Value::Null)
        .await;
    assert_eq!(status, 204);
    let (status, e, headers) = h
        .rest("GET", "/2015-03-31/functions/echo", Value::Null)
        .await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (404, Some("ResourceNotFoundException"))
    );
    assert_eq!(
        e["Message"],
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_answer_like_lambda() {
    let h = Harness::new().await;
    create_echo(&h).await;
    let (status, out, headers) = h
        .rest_raw(
            "POST",
            "/2015-03-31/functions/echo/invocations",
            br#"{"a":1}"#.to_vec(),
            vec![],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(out, json!({"echo": {"a": 1}, "name": "echo"}));
    assert_eq!(header(&headers, "x-amz-function-error"), None);
    assert_eq!(header(&headers, "x-amz-executed-version"), Some("$LATEST"));

    let (status, out, headers) = h.rest_raw("POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho/invocations", br#"{"fail":true}"#.to_vec(), vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    assert_eq!(out["errorType"], "KeyError");

    let (status, _, _) = h
        .rest_raw(
            "POST",
            "/2015-03-31/functions/echo/invocations",
            b"{}".to_vec(),
            vec![("x-amz-invocation-type".into(), "Event".into())],
        )
        .await;
    assert_eq!(status, 202);
    let (status, _, _) = h
        .rest_raw(
            "POST",
            "/2015-03-31/functions/echo/invocations",
            b"{}".to_vec(),
            vec![("x-amz-invocation-type".into(), "DryRun".into())],
        )
        .await;
    assert_eq!(status, 204);
    let (status, e, headers) = h
        .rest_raw(
            "POST",
            "/2015-03-31/functions/echo/invocations",
            b"{not json".to_vec(),
            vec![],
        )
        .await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (400, Some("InvalidRequestContentException")),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_crashes_timeouts_and_import_errors_are_function_errors() {
    let h = Harness::new().await;
    let code = h.dir.join("bad");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(
        code.join("h.py"),
        "import os, time\ndef crash(e, c):\n    os._exit(3)\ndef slow(e, c):\n    time.sleep(5)\n",
    )
    .unwrap();
    for (name, handler, timeout) in [
        ("crash", "h.crash", 3),
        ("slow", "h.slow", 1),
        ("missing", "nothere.handler", 3),
    ] {
        let body = json!({
            "FunctionName": name, "Runtime": "python3.11", "Role": "arn:aws:iam::000000000000:role/r",
            "Handler": handler, "Timeout": timeout,
            "Code": {"S3Bucket": "hot-reload", "S3Key": code.display().to_string()},
        });
        assert_eq!(h.rest("POST", "/2015-03-31/functions", body).await.0, 201);
    }
    let invoke = |name: &'static str| {
        let h = &h;
        async move {
            h.rest_raw(
                "POST",
                &format!("/2015-03-31/functions/{name}/invocations"),
                b"{}".to_vec(),
                vec![],
            )
            .await
        }
    };
    let (status, out, headers) = invoke("crash").await;
    assert_eq!(
        (status, header(&headers, "x-amz-function-error")),
        (200, Some("Unhandled"))
    );
    assert_eq!(out["errorType"], "Runtime.ExitError", "{out}");
    let (_, out, headers) = invoke("slow").await;
    assert_eq!(header(&headers, "x-amz-function-error"), Some("Unhandled"));
    assert!(
        out["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{out}"
    );
    let (_, out, _) = invoke("missing").await;
    assert_eq!(out["errorType"], "Runtime.ImportModuleError", "{out}");
    // A crashed process is replaced: the function still answers.
    let (_, out, _) = invoke("crash").await;
    assert_eq!(out["errorType"], "Runtime.ExitError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mappings_are_validated_like_lambda() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.create_function("f", "ok").await;
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    let create = |body: Value| {
        let h = &h;
        async move {
            h.rest("POST", "/2015-03-31/event-source-mappings/", body)
                .await
        }
    };
    let (status, e, headers) = create(json!({"FunctionName": "f", "EventSourceArn": arn, "StartingPosition": "LATEST", "BatchSize": 0})).await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (400, Some("ValidationException"))
    );
    assert_eq!(e["message"], "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1");
    let (status, _, headers) = create(
        json!({"FunctionName": "nope", "EventSourceArn": arn, "StartingPosition": "LATEST"}),
    )
    .await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (404, Some("ResourceNotFoundException"))
    );
    let (status, _, headers) = create(json!({"FunctionName": "f", "EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/none", "StartingPosition": "LATEST"})).await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (400, Some("InvalidParameterValueException"))
    );
    let (status, _, _) = create(json!({"FunctionName": "f", "EventSourceArn": arn})).await;
    assert_eq!(status, 400, "StartingPosition is required");
    let (status, _, _) = create(json!({"FunctionName": "f", "EventSourceArn": arn, "StartingPosition": "LATEST", "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}})).await;
    assert_eq!(status, 400, "no SQS here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mappings_are_created_listed_and_deleted() {
    let h = Harness::new().await;
    h.create_stream("s", 1).await;
    h.create_function("f", "ok").await;
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    let create = |body: Value| {
        let h = &h;
        async move {
            h.rest("POST", "/2015-03-31/event-source-mappings/", body)
                .await
        }
    };
    let (status, m, _) = create(json!({"FunctionName": "f", "EventSourceArn": arn, "StartingPosition": "LATEST", "Enabled": false})).await;
    assert_eq!(
        (status, m["State"].as_str(), m["BatchSize"].as_u64()),
        (202, Some("Disabled"), Some(100))
    );
    assert_eq!(m["MaximumRetryAttempts"], -1);
    assert_eq!(
        m["EventSourceMappingArn"],
        format!(
            "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:{}",
            m["UUID"].as_str().unwrap()
        )
    );
    let (status, _, headers) =
        create(json!({"FunctionName": "f", "EventSourceArn": arn, "StartingPosition": "LATEST"}))
            .await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (409, Some("ResourceConflictException"))
    );
    let (_, list, _) = h
        .rest(
            "GET",
            &format!(
                "/2015-03-31/event-source-mappings/?EventSourceArn={}",
                arn.replace(':', "%3A").replace('/', "%2F")
            ),
            Value::Null,
        )
        .await;
    assert_eq!(
        list["EventSourceMappings"].as_array().map(Vec::len),
        Some(1)
    );
    let uuid = m["UUID"].as_str().unwrap();
    let (status, d, _) = h
        .rest(
            "DELETE",
            &format!("/2015-03-31/event-source-mappings/{uuid}"),
            Value::Null,
        )
        .await;
    assert_eq!((status, d["State"].as_str()), (202, Some("Deleting")));
    let (status, _, _) = h
        .rest(
            "GET",
            &format!("/2015-03-31/event-source-mappings/{uuid}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 404);
}
