//! Authorization of AWS JSON requests once their signature is verified: the action is the
//! service's IAM prefix and the operation (`kinesis:PutRecord`), the resource the ARN the request
//! names (StreamARN, ConsumerARN, QueueARN, ChannelARN, or a StreamName / DeliveryStreamName made into an
//! ARN; otherwise `*`), decided by `spate_auth::policy` under the principal's identity policy and
//! the resource's policy (PutResourcePolicy).

use crate::conn::ConnState;
use crate::options::ServerOptions;
use spate_auth::policy::{decide, Decision, Request};
use spate_auth::Credential;
use spate_wire::service::TargetService;
use spate_wire::{ApiError, ErrorKind};

/// The IAM action prefix of a target prefix: `Kinesis_20131202` -> `kinesis`, `AWSGlue` -> `glue`.
pub(crate) fn namespace(target_prefix: &str) -> String {
    if target_prefix == GLUE_PREFIX {
        return "glue".into();
    }
    let name = target_prefix.split('_').next().unwrap_or(target_prefix);
    name.to_ascii_lowercase()
}

const GLUE_PREFIX: &str = "AWSGlue";

/// The members that name a request's resource; the rest of the body is skipped unparsed.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Named {
    #[serde(rename = "ConsumerARN")]
    consumer_arn: Option<String>,
    #[serde(rename = "QueueARN")]
    queue_arn: Option<String>,
    #[serde(rename = "ChannelARN")]
    channel_arn: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
    #[serde(rename = "ResourceARN")]
    resource_arn: Option<String>,
    stream_name: Option<String>,
    delivery_stream_name: Option<String>,
    table_name: Option<String>,
}

/// The members of a Glue request that name its resource.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GlueNamed {
    catalog_id: Option<String>,
    database_name: Option<String>,
    name: Option<String>,
    table_name: Option<String>,
    database_input: Option<GlueInput>,
    table_input: Option<GlueInput>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GlueInput {
    name: Option<String>,
}

/// The Glue resource a request acts on, in Glue's ARN forms: the table
/// (`table/DB/NAME`) when it names one, else the database (`database/DB`), else the catalog.
/// Glue itself checks the catalog, the database and the table of a table operation; Spate
/// evaluates policies against one resource, the most specific. Names are lower-cased, as Glue
/// stores them; CatalogId is the account of the ARN.
fn glue_resource(options: &ServerOptions, body: &[u8]) -> String {
    let named: GlueNamed = serde_json::from_slice(body).unwrap_or_default();
    let account = named.catalog_id.as_deref().unwrap_or(&options.account_id);
    let base = format!("arn:aws:glue:{}:{account}", options.region);
    let input_name = |input: Option<GlueInput>| input.and_then(|i| i.name);
    match named.database_name {
        Some(db) => {
            let table = input_name(named.table_input)
                .or(named.table_name)
                .or(named.name);
            match table {
                Some(t) => format!("{base}:table/{}/{}", db.to_lowercase(), t.to_lowercase()),
                None => format!("{base}:database/{}", db.to_lowercase()),
            }
        }
        None => match input_name(named.database_input).or(named.name) {
            Some(db) => format!("{base}:database/{}", db.to_lowercase()),
            None => format!("{base}:catalog"),
        },
    }
}

/// The ARN a request body names, if any, for the service addressed by `target_prefix`.
pub(crate) fn resource_of(options: &ServerOptions, target_prefix: &str, body: &[u8]) -> String {
    if target_prefix == GLUE_PREFIX {
        return glue_resource(options, body);
    }
    let named: Named = serde_json::from_slice(body).unwrap_or_default();
    let (region, account) = (&options.region, &options.account_id);
    let named_arn = named.consumer_arn.or(named.queue_arn).or(named.channel_arn);
    if let Some(arn) = named_arn.or(named.stream_arn) {
        return arn;
    }
    if let Some(arn) = named.resource_arn {
        return arn;
    }
    if let Some(name) = named.stream_name {
        return format!("arn:aws:kinesis:{region}:{account}:stream/{name}");
    }
    if let Some(name) = named.delivery_stream_name {
        return format!("arn:aws:firehose:{region}:{account}:deliverystream/{name}");
    }
    if let Some(name) = named.table_name {
        return format!("arn:aws:dynamodb:{region}:{account}:table/{name}");
    }
    "*".into()
}

/// The stream a consumer ARN belongs to (its resource policy is the stream's).
fn policy_owner(resource: &str) -> &str {
    match resource.find("/consumer/") {
        Some(at) => &resource[..at],
        None => resource,
    }
}

/// Whether `credential` may call `operation` of `service` with `body`.
pub fn authorize(
    options: &ServerOptions,
    service: &dyn TargetService,
    operation: &str,
    body: &[u8],
    credential: &Credential,
    connection: &ConnState,
) -> Result<(), ApiError> {
    // A principal without a policy may do anything its own account's resources allow: with no
    // resource policy anywhere there is nothing to find out.
    let own_account = credential.account().is_empty() || credential.account() == options.account_id;
    if credential.policy_document.is_none() && own_account && !service.may_have_resource_policies()
    {
        return Ok(());
    }
    let action = format!("{}:{operation}", namespace(service.target_prefix()));
    let resource = resource_of(options, service.target_prefix(), body);
    let resource_policy = service
        .resource_policy(policy_owner(&resource))
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let asked = Asked {
        action: &action,
        resource: &resource,
        resource_policy: resource_policy.as_ref(),
    };
    authorize_asked(options, &asked, credential, connection)
}

/// An action on a resource, and the resource's policy if it has one.
pub(crate) struct Asked<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub resource_policy: Option<&'a serde_json::Value>,
}

/// Whether `credential` may do what is `asked`, under its identity policy and the resource's.
pub(crate) fn authorize_asked(
    options: &ServerOptions,
    asked: &Asked<'_>,
    credential: &Credential,
    connection: &ConnState,
) -> Result<(), ApiError> {
    let (action, resource) = (asked.action, asked.resource);
    let resource_account = match resource.split(':').nth(4) {
        Some(account) if !account.is_empty() => account,
        _ => options.account_id.as_str(),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let account = credential.account();
    let request = Request {
        principal: &credential.principal,
        principal_account: if account.is_empty() {
            &options.account_id
        } else {
            account
        },
        action,
        resource,
        resource_account,
        source_ip: connection.peer,
        secure_transport: connection.secure,
        now_ms,
    };
    let why = match decide(
        &request,
        credential.policy_document.as_ref(),
        asked.resource_policy,
    ) {
        Decision::Allow => return Ok(()),
        Decision::DeniedByIdentity => {
            "with an explicit deny in an identity-based policy".to_string()
        }
        Decision::DeniedByResource => {
            "with an explicit deny in a resource-based policy".to_string()
        }
        Decision::ImplicitDeny if request.principal_account != resource_account => {
            format!("because no resource-based policy allows the {action} action")
        }
        Decision::ImplicitDeny => {
            format!("because no identity-based policy allows the {action} action")
        }
    };
    Err(ApiError::new(
        ErrorKind::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            credential.principal
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_come_from_the_arns_and_names_a_request_carries() {
        let options = ServerOptions::default();
        assert_eq!(
            resource_of(&options, "Kinesis_20131202", br#"{"StreamName":"s"}"#),
            "arn:aws:kinesis:us-east-1:000000000000:stream/s"
        );
        assert_eq!(
            resource_of(
                &options,
                "Firehose_20150804",
                br#"{"DeliveryStreamName":"d"}"#
            ),
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/d"
        );
        assert_eq!(
            resource_of(
                &options,
                "Kinesis_20131202",
                br#"{"StreamARN":"arn:x","StreamName":"s"}"#
            ),
            "arn:x"
        );
        let channel = br#"{"ChannelARN":"arn:aws:kinesis:us-east-1:000000000000:channel/id"}"#;
        assert_eq!(
            resource_of(&options, "Kinesis_20131202", channel),
            "arn:aws:kinesis:us-east-1:000000000000:channel/id"
        );
        assert_eq!(resource_of(&options, "Kinesis_20131202", b"{}"), "*");
        assert_eq!(resource_of(&options, "Kinesis_20131202", b"not json"), "*");
        assert_eq!(
            policy_owner("arn:aws:kinesis:r:1:stream/s/consumer/c:1"),
            "arn:aws:kinesis:r:1:stream/s"
        );
        assert_eq!(namespace("Kinesis_20131202"), "kinesis");
        assert_eq!(namespace("Firehose_20150804"), "firehose");
        assert_eq!(namespace("DynamoDB_20120810"), "dynamodb");
        assert_eq!(
            resource_of(&options, "DynamoDB_20120810", br#"{"TableName":"leases"}"#),
            "arn:aws:dynamodb:us-east-1:000000000000:table/leases"
        );
    }

    #[test]
    fn glue_resources_are_tables_databases_or_the_catalog() {
        let options = ServerOptions::default();
        let glue = |body: &[u8]| resource_of(&options, "AWSGlue", body);
        assert_eq!(namespace("AWSGlue"), "glue");
        let arn = "arn:aws:glue:us-east-1:000000000000";
        assert_eq!(
            glue(br#"{"DatabaseName":"Db","Name":"T"}"#),
            format!("{arn}:table/db/t")
        );
        let create = br#"{"DatabaseName":"db","TableInput":{"Name":"t","StorageDescriptor":{}}}"#;
        assert_eq!(glue(create), format!("{arn}:table/db/t"));
        let version = br#"{"DatabaseName":"db","TableName":"t","VersionId":"1"}"#;
        assert_eq!(glue(version), format!("{arn}:table/db/t"));
        assert_eq!(
            glue(br#"{"DatabaseName":"db"}"#),
            format!("{arn}:database/db")
        );
        assert_eq!(glue(br#"{"Name":"db"}"#), format!("{arn}:database/db"));
        let db = br#"{"DatabaseInput":{"Name":"Db"},"CatalogId":"111111111111"}"#;
        assert_eq!(glue(db), "arn:aws:glue:us-east-1:111111111111:database/db");
        assert_eq!(glue(b"{}"), format!("{arn}:catalog"));
        assert_eq!(glue(br#"{"TableName":"t"}"#), format!("{arn}:catalog"));
    }
}
