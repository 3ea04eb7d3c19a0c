//! The IAM action and resource of each Lambda request, as AWS's service authorization
//! reference names them: functions by ARN, event source mappings by ARN once they exist,
//! `*` for listing and for creating a mapping.

use super::{percent_decode, LambdaApi, PREFIX};
use crate::model::FunctionName;
use spate_wire::service::RestAction;

/// The function a request body names (CreateFunction).
#[derive(serde::Deserialize, Default)]
struct Named {
    #[serde(rename = "FunctionName")]
    function_name: Option<String>,
}

impl LambdaApi {
    pub(super) fn action_of(&self, method: &str, path: &str, body: &[u8]) -> Option<RestAction> {
        let rest = path.strip_prefix(PREFIX)?;
        let segments: Vec<String> = rest
            .trim_end_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let function = |name: &str| match FunctionName::parse(name) {
            Some(name) => self.lambda.functions.arn(&name),
            // An unparseable name is refused by the operation; authorize what was asked for.
            None => name.to_string(),
        };
        let mapping = |uuid: &str| self.lambda.mappings.arn(uuid);
        let (action, resource) = match (method, segments.as_slice()) {
            ("POST", ["functions"]) => {
                let named: Named = serde_json::from_slice(body).unwrap_or_default();
                let name = named.function_name.unwrap_or_default();
                ("CreateFunction", function(&name))
            }
            ("GET", ["functions"]) => ("ListFunctions", "*".to_string()),
            ("GET", ["functions", name]) => ("GetFunction", function(name)),
            ("GET", ["functions", name, "configuration"]) => {
                ("GetFunctionConfiguration", function(name))
            }
            ("DELETE", ["functions", name]) => ("DeleteFunction", function(name)),
            ("POST", ["functions", name, "invocations"]) => ("InvokeFunction", function(name)),
            ("POST", ["event-source-mappings"]) => ("CreateEventSourceMapping", "*".to_string()),
            ("GET", ["event-source-mappings"]) => ("ListEventSourceMappings", "*".to_string()),
            ("GET", ["event-source-mappings", uuid]) => ("GetEventSourceMapping", mapping(uuid)),
            ("PUT", ["event-source-mappings", uuid]) => ("UpdateEventSourceMapping", mapping(uuid)),
            ("DELETE", ["event-source-mappings", uuid]) => {
                ("DeleteEventSourceMapping", mapping(uuid))
            }
            _ => return None,
        };
        Some(RestAction {
            action: format!("lambda:{action}"),
            resource,
            data_plane: action == "InvokeFunction",
        })
    }
}
