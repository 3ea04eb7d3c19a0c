//! The front door's routing table: AWS JSON services by `X-Amz-Target` prefix, REST services
//! by method and path. A new AWS service is one crate plus one `with_target` / `with_rest`
//! line where the server is assembled.

use spate_wire::service::{Operation, RestService, TargetService};
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct Router {
    targets: Vec<Arc<dyn TargetService>>,
    rest: Vec<Arc<dyn RestService>>,
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    pub fn with_target(mut self, service: Arc<dyn TargetService>) -> Router {
        self.targets.push(service);
        self
    }

    pub fn with_rest(mut self, service: Arc<dyn RestService>) -> Router {
        self.rest.push(service);
        self
    }

    /// The service and operation an `X-Amz-Target` header names (`Prefix.Operation`).
    pub fn target(&self, target: &str) -> Option<(Arc<dyn TargetService>, Operation)> {
        let (prefix, operation) = target.split_once('.')?;
        // Several services may share a prefix (each service's Spate-only operations live under
        // `SpateAdmin_*`): the first that has the operation takes it.
        self.targets
            .iter()
            .filter(|s| s.target_prefix() == prefix)
            .find_map(|s| Some((s.clone(), s.operation(operation)?)))
    }

    /// The JSON version the services under `target`'s prefix speak (`Json10` for DynamoDB),
    /// whether or not they have the operation.
    pub fn json_version(&self, target: &str) -> Option<spate_wire::codec::Encoding> {
        let prefix = target.split_once('.').map_or(target, |(p, _)| p);
        self.targets
            .iter()
            .find(|s| s.target_prefix() == prefix)
            .map(|s| s.json_version())
    }

    pub fn rest(&self, method: &str, path: &str) -> Option<Arc<dyn RestService>> {
        self.rest.iter().find(|s| s.matches(method, path)).cloned()
    }

    /// Tells every service the server is shutting down.
    pub fn close(&self) {
        for service in &self.targets {
            service.close();
        }
    }
}
