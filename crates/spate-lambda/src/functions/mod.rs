//! Functions: where a batch goes. A function is a handler module (run by Spate's `node` or
//! `python3` runner), a line-protocol command, or an HTTP URL; created through the Lambda API
//! or declared in the configuration, and invoked by the API's Invoke and by event source
//! mappings alike.

pub mod code;
pub mod http;
pub mod invoke;
pub mod process;

use crate::config::{DeclaredFunction, LambdaConfig};
use crate::errors::{conflict, invalid, not_found, service, LambdaError};
use crate::ids;
use crate::model::{FunctionName, FunctionRecord, FunctionTarget, Language, FORMAT_VERSION};
use crate::store::Registry;
use bytes::Bytes;
use invoke::{InvokeContext, Outcome};
use process::{Launch, ProcessPool};
use sha2::{Digest, Sha256};
use spate_log::Clock;
use spate_objects::ObjectStore;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NODE_RUNNER: &str = include_str!("../runners/node.mjs");
const PYTHON_RUNNER: &str = include_str!("../runners/python.py");

/// Where a new function's code comes from.
pub enum CodeSource {
    /// A deployment package (zip bytes).
    Zip(Vec<u8>),
    /// An object holding a deployment package.
    S3 { bucket: String, key: String },
    /// A directory on Spate's machine, used in place (S3Bucket `hot-reload`, as LocalStack).
    Directory(PathBuf),
}

/// The bucket name that makes S3Key a local directory.
pub const HOT_RELOAD_BUCKET: &str = "hot-reload";

pub struct NewFunction {
    pub name: FunctionName,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub timeout_secs: u32,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    /// `None` only for URL functions (the code is elsewhere).
    pub code: Option<CodeSource>,
    pub tags: BTreeMap<String, String>,
}

/// The Environment variable that makes a `provided*` function an HTTP URL function (a Spate
/// extension: AWS's API has no way to name one).
pub const URL_VARIABLE: &str = "SPATE_FUNCTION_URL";

pub struct Functions {
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: LambdaConfig,
    objects: Option<Arc<dyn ObjectStore>>,
    clock: Clock,
    /// Running processes per function, keyed by the revision they were started for.
    pools: Mutex<HashMap<FunctionName, (String, Arc<ProcessPool>)>>,
    urls: http::UrlInvoker,
    /// Spate's own address, given to handler processes as `AWS_ENDPOINT_URL` so the SDKs in
    /// them call this server (set once the server listens).
    endpoint: std::sync::OnceLock<String>,
}

impl Functions {
    pub fn new(
        registry: Arc<Registry>,
        config: LambdaConfig,
        objects: Option<Arc<dyn ObjectStore>>,
        clock: Clock,
    ) -> Result<Functions, LambdaError> {
        let runners = config.runners_dir.clone();
        std::fs::create_dir_all(&runners)
            .and_then(|_| std::fs::write(runners.join("node-runner.mjs"), NODE_RUNNER))
            .and_then(|_| std::fs::write(runners.join("python-runner.py"), PYTHON_RUNNER))
            .map_err(|e| service(format!("writing the runners to {}: {e}", runners.display())))?;
        let urls = http::UrlInvoker::new(&config.trust).map_err(service)?;
        let functions = Functions {
            registry,
            config,
            objects,
            clock,
            pools: Mutex::new(HashMap::new()),
            urls,
            endpoint: std::sync::OnceLock::new(),
        };
        for declared in functions.config.functions.clone() {
            functions.declare(declared)?;
        }
        Ok(functions)
    }

    fn declare(&self, declared: DeclaredFunction) -> Result<(), LambdaError> {
        let name = FunctionName::parse(&declared.name)
            .ok_or_else(|| invalid(format!("Invalid function name {}", declared.name)))?;
        let (runtime, handler) = match &declared.target {
            FunctionTarget::Module {
                language, handler, ..
            } => {
                let runtime = match language {
                    Language::Node => "nodejs22.x",
                    Language::Python => "python3.12",
                };
                (Some(runtime.to_string()), Some(handler.clone()))
            }
            _ => (Some("provided.al2023".to_string()), None),
        };
        let now = (self.clock)();
        self.registry.declare(FunctionRecord {
            format: FORMAT_VERSION,
            name,
            runtime,
            handler,
            role: format!("arn:aws:iam::{}:role/spate", self.config.account_id),
            description: "Declared in Spate's configuration".into(),
            timeout_secs: declared.timeout_secs,
            memory_mb: 128,
            environment: declared.environment,
            target: declared.target,
            code_sha256: String::new(),
            code_size: 0,
            last_modified_ms: now,
            revision_id: ids::uuid(),
            tags: BTreeMap::new(),
            declared: true,
        });
        Ok(())
    }

    pub fn arn(&self, name: &FunctionName) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.config.region, self.config.account_id
        )
    }

    pub fn get(&self, name: &FunctionName) -> Result<Arc<FunctionRecord>, LambdaError> {
        self.registry
            .function(name)
            .ok_or_else(|| not_found(format!("Function not found: {}", self.arn(name))))
    }

    pub fn list(&self) -> Vec<Arc<FunctionRecord>> {
        self.registry.functions()
    }

    pub async fn create(&self, new: NewFunction) -> Result<Arc<FunctionRecord>, LambdaError> {
        let _control = self.registry.control.lock().await;
        if self.registry.function(&new.name).is_some() {
            return Err(conflict(format!("Function already exist: {}", new.name)));
        }
        let (target, sha, size) = self.target(&new).await?;
        let record = FunctionRecord {
            format: FORMAT_VERSION,
            name: new.name,
            runtime: Some(new.runtime),
            handler: Some(new.handler),
            role: new.role,
            description: new.description,
            timeout_secs: new.timeout_secs,
            memory_mb: new.memory_mb,
            environment: new.environment,
            target,
            code_sha256: sha,
            code_size: size,
            last_modified_ms: (self.clock)(),
            revision_id: ids::uuid(),
            tags: new.tags,
            declared: false,
        };
        self.registry.save_function(record.clone()).await?;
        Ok(Arc::new(record))
    }

    /// What runs the new function: (target, base64 SHA-256 of the code, code size).
    async fn target(
        &self,
        new: &NewFunction,
    ) -> Result<(FunctionTarget, String, u64), LambdaError> {
        let url = new
            .environment
            .get(URL_VARIABLE)
            .filter(|_| new.runtime.starts_with("provided"));
        if let Some(url) = url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(format!("{URL_VARIABLE} must be an http(s) URL")));
            }
            let target = FunctionTarget::Url { url: url.clone() };
            return Ok((target, sha256_base64(url.as_bytes()), 0));
        }
        let language = Language::of_runtime(&new.runtime).ok_or_else(|| {
            invalid(format!(
                "Runtime {} is not supported by Spate: it runs nodejs* and python3* handlers, and provided* functions with {URL_VARIABLE}",
                new.runtime
            ))
        })?;
        let code = new.code.as_ref().ok_or_else(|| {
            invalid(
                "Please provide a source for function code: either ZipFile, or S3Bucket and S3Key.",
            )
        })?;
        let (dir, sha, size) = self.materialise(&new.name, code).await?;
        let handler = new.handler.clone();
        Ok((
            FunctionTarget::Module {
                language,
                dir,
                handler,
            },
            sha,
            size,
        ))
    }

    /// Puts the code where it runs from: (directory, base64 SHA-256 of the package, size).
    async fn materialise(
        &self,
        name: &FunctionName,
        code: &CodeSource,
    ) -> Result<(PathBuf, String, u64), LambdaError> {
        let zip = match code {
            CodeSource::Directory(dir) => {
                let sha = sha256_base64(dir.to_string_lossy().as_bytes());
                return Ok((dir.clone(), sha, 0));
            }
            CodeSource::Zip(zip) => zip.clone(),
            CodeSource::S3 { bucket, key } => {
                let objects = self.objects.as_ref().ok_or_else(|| {
                    invalid("Spate has no object store configured for S3Bucket code")
                })?;
                let bytes = objects.get(bucket, key).await.map_err(|e| {
                    invalid(format!(
                        "Error occurred while GetObject. S3 Error Code: {e}"
                    ))
                })?;
                bytes
                    .ok_or_else(|| {
                        invalid(format!(
                            "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist. ({bucket}/{key})"
                        ))
                    })?
                    .to_vec()
            }
        };
        let sha = sha256_base64(&zip);
        let dir = self.config.code_root.join(name.as_str()).join(ids::uuid());
        let target = dir.clone();
        let size = zip.len() as u64;
        tokio::task::spawn_blocking(move || code::unpack(&zip, &target))
            .await
            .map_err(|e| service(e.to_string()))??;
        Ok((dir, sha, size))
    }

    pub async fn delete(&self, name: &FunctionName) -> Result<(), LambdaError> {
        let _control = self.registry.control.lock().await;
        let record = self.get(name)?;
        self.registry.remove_function(name).await?;
        self.pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let FunctionTarget::Module { dir, .. } = &record.target {
            // Only unpacked packages are Spate's to remove, never an operator's directory.
            // A package can hold thousands of files: removed off the async workers.
            if dir.starts_with(&self.config.code_root) {
                let dir = dir.clone();
                let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
            }
        }
        Ok(())
    }

    /// Runs the function with `event` (JSON bytes) and waits for its result.
    pub async fn invoke(&self, name: &FunctionName, event: Bytes) -> Result<Outcome, LambdaError> {
        let record = self.get(name)?;
        let timeout = Duration::from_secs(u64::from(record.timeout_secs));
        let context = InvokeContext {
            function_name: name.to_string(),
            function_arn: self.arn(name),
            request_id: ids::uuid(),
            memory_mb: record.memory_mb,
            deadline_ms: (self.clock)() + i64::from(record.timeout_secs) * 1000,
        };
        Ok(match &record.target {
            FunctionTarget::Url { url } => self.urls.invoke(url, event, &context, timeout).await,
            _ => {
                let pool = self.pool(&record);
                pool.invoke(&event, &context, timeout).await
            }
        })
    }

    /// Handler processes started from now on get `AWS_ENDPOINT_URL=url` (unless their own
    /// environment sets it), and placeholder credentials when the server has none: the SDKs in
    /// a handler then call Spate, as on AWS they call AWS.
    pub fn set_endpoint(&self, url: String) {
        let _ = self.endpoint.set(url);
    }

    /// The variables Spate adds for SDKs inside handlers.
    fn sdk_environment(&self, record: &FunctionRecord) -> Vec<(String, String)> {
        let mut env = Vec::new();
        let declared = |name: &str| record.environment.contains_key(name);
        if let Some(url) = self.endpoint.get() {
            if !declared("AWS_ENDPOINT_URL") {
                env.push(("AWS_ENDPOINT_URL".to_string(), url.clone()));
            }
        }
        let inherited = |name: &str| std::env::var_os(name).is_some();
        for (name, value) in [
            ("AWS_ACCESS_KEY_ID", "spate"),
            ("AWS_SECRET_ACCESS_KEY", "spate"),
        ] {
            if !declared(name) && !inherited(name) {
                env.push((name.to_string(), value.to_string()));
            }
        }
        env
    }

    fn pool(&self, record: &FunctionRecord) -> Arc<ProcessPool> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((revision, pool)) = pools.get(&record.name) {
            if *revision == record.revision_id {
                return pool.clone();
            }
        }
        let pool = Arc::new(ProcessPool::new(self.launch(record)));
        pools.insert(
            record.name.clone(),
            (record.revision_id.clone(), pool.clone()),
        );
        pool
    }

    fn launch(&self, record: &FunctionRecord) -> Launch {
        let mut env: Vec<(String, String)> = vec![
            ("AWS_LAMBDA_FUNCTION_NAME".into(), record.name.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                record.memory_mb.to_string(),
            ),
            ("AWS_REGION".into(), self.config.region.clone()),
            ("AWS_DEFAULT_REGION".into(), self.config.region.clone()),
        ];
        env.extend(self.sdk_environment(record));
        env.extend(
            record
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let runners = self.config.runners_dir.clone();
        let (argv, dir) = match &record.target {
            FunctionTarget::Module {
                language,
                dir,
                handler,
            } => {
                env.push(("LAMBDA_TASK_ROOT".into(), dir.display().to_string()));
                env.push(("_HANDLER".into(), handler.clone()));
                let (program, runner) = match language {
                    Language::Node => (&self.config.node, runners.join("node-runner.mjs")),
                    Language::Python => (&self.config.python, runners.join("python-runner.py")),
                };
                let argv = vec![
                    program.clone(),
                    runner.display().to_string(),
                    dir.display().to_string(),
                    handler.clone(),
                ];
                (argv, Some(dir.clone()))
            }
            FunctionTarget::Command { argv, dir } => (argv.clone(), dir.clone()),
            FunctionTarget::Url { .. } => (Vec::new(), None),
        };
        Launch { argv, dir, env }
    }
}

fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}
