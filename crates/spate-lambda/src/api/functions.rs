//! CreateFunction, GetFunction(Configuration), ListFunctions, DeleteFunction, Invoke.

use super::check::Validator;
use super::{input, json_reply, page, query};
use crate::errors::{invalid, LambdaError, LambdaErrorKind};
use crate::functions::invoke::Outcome;
use crate::functions::{CodeSource, NewFunction, HOT_RELOAD_BUCKET};
use crate::model::{FunctionName, FunctionRecord};
use crate::service::Lambda;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spate_wire::service::{RestCall, RestReply};
use std::collections::BTreeMap;

/// Invoke payloads are at most this many bytes (Lambda's synchronous limit).
pub const INVOKE_PAYLOAD_MAX_BYTES: usize = 6_291_456;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionInput {
    function_name: Option<String>,
    runtime: Option<String>,
    role: Option<String>,
    handler: Option<String>,
    code: Option<CodeInput>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    environment: Option<EnvironmentInput>,
    tags: Option<BTreeMap<String, String>>,
    package_type: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CodeInput {
    zip_file: Option<String>,
    s3_bucket: Option<String>,
    s3_key: Option<String>,
    image_uri: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentInput {
    variables: Option<BTreeMap<String, String>>,
}

fn parse_name(text: &str) -> Result<FunctionName, LambdaError> {
    FunctionName::parse(text).ok_or_else(|| {
        crate::errors::validation(format!(
            "1 validation error detected: Value '{text}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    })
}

fn code_source(code: Option<CodeInput>) -> Result<Option<CodeSource>, LambdaError> {
    let code = code.unwrap_or_default();
    if code.image_uri.is_some() {
        return Err(invalid(
            "Spate runs Zip functions only: ImageUri is not supported",
        ));
    }
    match (code.zip_file, code.s3_bucket, code.s3_key) {
        (Some(zip), None, None) => STANDARD
            .decode(zip.as_bytes())
            .map(|zip| Some(CodeSource::Zip(zip)))
            .map_err(|e| invalid(format!("ZipFile is not base64: {e}"))),
        (None, Some(bucket), Some(key)) if bucket == HOT_RELOAD_BUCKET => {
            Ok(Some(CodeSource::Directory(key.into())))
        }
        (None, Some(bucket), Some(key)) => Ok(Some(CodeSource::S3 { bucket, key })),
        (None, None, None) => Ok(None),
        _ => Err(invalid(
            "Please provide a source for function code: either ZipFile, or S3Bucket and S3Key.",
        )),
    }
}

pub async fn create(lambda: &Lambda, call: &RestCall) -> Result<RestReply, LambdaError> {
    let i: CreateFunctionInput = input(call)?;
    let mut v = Validator::default();
    v.required(&i.function_name, "functionName");
    v.required(&i.role, "role");
    v.required(&i.code, "code");
    v.length(i.function_name.as_deref(), "functionName", 1, 140);
    v.range(i.timeout, "timeout", 1, 900);
    v.range(i.memory_size, "memorySize", 128, 10_240);
    v.length(i.description.as_deref(), "description", 0, 256);
    v.length(i.handler.as_deref(), "handler", 0, 128);
    v.finish()?;
    let name = parse_name(i.function_name.as_deref().unwrap_or_default())?;
    if i.package_type.as_deref() == Some("Image") {
        return Err(invalid(
            "Spate runs Zip functions only: PackageType Image is not supported",
        ));
    }
    let runtime = i
        .runtime
        .ok_or_else(|| invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages."))?;
    let handler = i
        .handler
        .ok_or_else(|| invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages."))?;
    let new = NewFunction {
        name,
        runtime,
        handler,
        role: i.role.unwrap_or_default(),
        description: i.description.unwrap_or_default(),
        timeout_secs: i.timeout.unwrap_or(3) as u32,
        memory_mb: i.memory_size.unwrap_or(128) as u32,
        environment: i.environment.and_then(|e| e.variables).unwrap_or_default(),
        code: code_source(i.code)?,
        tags: i.tags.unwrap_or_default(),
    };
    let record = lambda.functions.create(new).await?;
    json_reply("CreateFunction", 201, &configuration(lambda, &record))
}

/// A function as FunctionConfiguration.
fn configuration(lambda: &Lambda, f: &FunctionRecord) -> Value {
    let modified = jiff::Timestamp::from_millisecond(f.last_modified_ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default();
    json!({
        "FunctionName": f.name.as_str(),
        "FunctionArn": lambda.functions.arn(&f.name),
        "Runtime": f.runtime,
        "Role": f.role,
        "Handler": f.handler,
        "CodeSize": f.code_size,
        "Description": f.description,
        "Timeout": f.timeout_secs,
        "MemorySize": f.memory_mb,
        "LastModified": modified,
        "CodeSha256": f.code_sha256,
        "Version": "$LATEST",
        "Environment": { "Variables": f.environment },
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": f.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": { "Size": 512 },
        "LoggingConfig": { "LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", f.name) },
    })
}

pub fn get(
    lambda: &Lambda,
    name: &str,
    only_configuration: bool,
) -> Result<RestReply, LambdaError> {
    let record = lambda.functions.get(&parse_name(name)?)?;
    let config = configuration(lambda, &record);
    if only_configuration {
        return json_reply("GetFunctionConfiguration", 200, &config);
    }
    let location = match &record.target {
        crate::model::FunctionTarget::Module { dir, .. } => format!("file://{}", dir.display()),
        crate::model::FunctionTarget::Command { argv, .. } => argv.join(" "),
        crate::model::FunctionTarget::Url { url } => url.clone(),
    };
    let out = json!({
        "Configuration": config,
        "Code": { "RepositoryType": "S3", "Location": location },
        "Tags": record.tags,
    });
    json_reply("GetFunction", 200, &out)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListFunctionsOutput {
    functions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

pub fn list(lambda: &Lambda, call: &RestCall) -> Result<RestReply, LambdaError> {
    let max = query(call, "MaxItems").map(|m| m.parse::<i64>().unwrap_or(0));
    let mut v = Validator::default();
    v.range(max, "maxItems", 1, 10_000);
    v.finish()?;
    let marker = query(call, "Marker");
    let (functions, next_marker) = page(
        lambda.functions.list(),
        |f| f.name.to_string(),
        marker.as_deref(),
        max.unwrap_or(50) as usize,
    );
    let functions = functions.iter().map(|f| configuration(lambda, f)).collect();
    json_reply(
        "ListFunctions",
        200,
        &ListFunctionsOutput {
            functions,
            next_marker,
        },
    )
}

pub async fn delete(lambda: &Lambda, name: &str) -> Result<RestReply, LambdaError> {
    lambda.functions.delete(&parse_name(name)?).await?;
    Ok(RestReply {
        operation: "DeleteFunction",
        status: 204,
        content_type: "application/json",
        headers: Vec::new(),
        body: Vec::new(),
    })
}

pub async fn invoke(
    lambda: &Lambda,
    name: &str,
    call: &RestCall,
) -> Result<RestReply, LambdaError> {
    let name = parse_name(name)?;
    let kind = call
        .header("x-amz-invocation-type")
        .unwrap_or("RequestResponse");
    let mut v = Validator::default();
    v.one_of(
        Some(kind),
        "invocationType",
        &["Event", "RequestResponse", "DryRun"],
    );
    v.finish()?;
    if call.body.len() > INVOKE_PAYLOAD_MAX_BYTES {
        return Err(LambdaError::new(
            LambdaErrorKind::RequestTooLarge,
            format!("Request must be smaller than {INVOKE_PAYLOAD_MAX_BYTES} bytes for the InvokeFunction operation"),
        ));
    }
    let payload = if call.body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        call.body.clone()
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return Err(LambdaError::new(
            LambdaErrorKind::InvalidRequestContent,
            format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            ),
        ));
    }
    lambda.functions.get(&name)?;
    let reply = |status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8>| RestReply {
        operation: "Invoke",
        status,
        content_type: "application/json",
        headers,
        body,
    };
    match kind {
        "DryRun" => Ok(reply(204, Vec::new(), Vec::new())),
        "Event" => {
            let functions = lambda.functions.clone();
            tokio::spawn(async move {
                match functions.invoke(&name, payload).await {
                    Ok(Outcome::FunctionError(e)) => {
                        tracing::warn!("asynchronous invocation of {name} failed: {e}")
                    }
                    Err(e) => tracing::warn!("asynchronous invocation of {name}: {e}"),
                    Ok(Outcome::Ok(_)) => {}
                }
            });
            Ok(reply(202, Vec::new(), Vec::new()))
        }
        _ => {
            let outcome = lambda.functions.invoke(&name, payload).await?;
            let mut headers = vec![("x-amz-executed-version", "$LATEST".to_string())];
            if outcome.is_error() {
                headers.push(("x-amz-function-error", "Unhandled".to_string()));
            }
            let body = serde_json::to_vec(outcome.payload())
                .map_err(|e| crate::errors::service(e.to_string()))?;
            Ok(reply(200, headers, body))
        }
    }
}
