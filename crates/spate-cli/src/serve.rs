//! `spate serve`: open storage, start the services, listen, shut down gracefully.

use crate::config::{ObjectTarget, ServeArgs, Settings};
use spate_firehose::api::{FirehoseAdminApi, FirehoseApi};
use spate_firehose::Firehose;
use spate_lambda::api::LambdaApi;
use spate_lambda::{Lambda, LambdaConfig};
use spate_log::{system_clock, Clock, Log, LogOptions, RecordLog};
use spate_objects::{LocalDirStore, ObjectStore, S3Store};
use spate_queues::api::QueuesApi;
use spate_queues::{Queues, QueuesConfig};
use spate_server::Router;
use spate_streams::api::{AdminApi, KinesisApi};
use spate_streams::model::StreamName;
use spate_streams::streams::CreateStream;
use spate_streams::{Keyring, Kinesis, MasterKey, MasterKeySource};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// How often retention and finished deletions are applied.
const MAINTENANCE_INTERVAL_MS: u64 = 10_000;
/// How often Firehose looks for delivery streams whose DELETING window ended.
const FIREHOSE_TICK_MS: u64 = 200;
/// How long Firehose may deliver what it has buffered when the server stops.
const FIREHOSE_DRAIN: Duration = Duration::from_secs(5);

pub fn run(args: ServeArgs) -> Result<(), String> {
    let settings = args.resolve()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> Result<(), String> {
    match spate_log::storage::raise_open_files_limit() {
        Ok((old, new)) if new > old => {
            tracing::info!("raised the open files limit from {old} to {new}")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("could not raise the open files limit: {e}"),
    }
    // Held until the server stops: it carries the data directory's lock.
    let opened = crate::data_dir::open(settings.data_dir.as_deref())?;
    let (log, kinesis) = start_services(&settings, &opened).await?;
    if !opened.read_only {
        create_startup_streams(&kinesis, &settings.create_streams).await?;
    }
    let objects = object_store(&settings);
    let (firehose_log, firehose) =
        start_firehose(&settings, &opened, &kinesis, objects.clone()).await?;
    let lambda = start_lambda(&settings, &opened, &kinesis, objects).await?;
    firehose.set_invoker(Arc::new(FunctionRunner(lambda.clone())));
    let (queues_log, queues) = start_queues(&settings, &opened, &kinesis).await?;
    let dynamodb = start_dynamodb(&settings, &opened)?;
    let glue = start_glue(&settings, &opened)?;
    firehose.set_table_schemas(Arc::new(GlueTables(glue.clone())));
    check_exposure(&settings)?;
    let listener = tokio::net::TcpListener::bind((settings.host.as_str(), settings.port))
        .await
        .map_err(|e| format!("binding {}:{}: {e}", settings.host, settings.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    match &settings.data_dir {
        Some(dir) => tracing::info!("data directory {}", dir.display()),
        None => tracing::warn!("running in memory: nothing survives a restart"),
    }
    lambda.functions.set_endpoint(announce(&settings, addr));
    let mut background = spawn_background(&kinesis);
    background.push(spawn_firehose_ticks(&firehose));
    background.push(spawn_reloads(&settings.server));
    background.push(spawn_ttl_sweeps(&dynamodb));
    // One line per service behind the front door.
    let router = Router::new()
        .with_target(KinesisApi::new(kinesis.clone()))
        .with_target(AdminApi::new(kinesis.clone()))
        .with_target(QueuesApi::new(queues))
        .with_target(spate_firehose::channels::api::ChannelsApi::new(
            firehose.clone(),
        ))
        .with_target(FirehoseApi::new(firehose.clone()))
        .with_target(FirehoseAdminApi::new(firehose.clone()))
        .with_target(spate_dynamodb::api::DynamoDbApi::new(dynamodb.clone()))
        .with_target(spate_glue::api::GlueApi::new(glue.clone()))
        .with_rest(LambdaApi::new(lambda.clone()));
    spate_server::serve(listener, router, settings.server.clone(), shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    background.iter().for_each(|task| task.abort());
    lambda.close();
    firehose.drain(FIREHOSE_DRAIN).await;
    firehose_log.shutdown();
    queues_log.shutdown();
    log.shutdown();
    tracing::info!("stopped");
    Ok(())
}

/// Prints the URL the server listens on (the line tests and scripts wait for) and returns it.
fn announce(settings: &Settings, addr: std::net::SocketAddr) -> String {
    let scheme = if settings.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let endpoint = format!("{scheme}://{addr}");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "spate listening on {endpoint}");
    let _ = out.flush();
    endpoint
}

/// Opens (recovers) the log and the Kinesis service over it.
async fn start_services(
    settings: &Settings,
    opened: &crate::data_dir::Opened,
) -> Result<(Arc<Log>, Arc<Kinesis>), String> {
    if opened.read_only {
        tracing::warn!(
            "the data directory is on a read-only file system: serving reads only, every write is refused"
        );
    }
    let clock = system_clock();
    let started = std::time::Instant::now();
    let options = LogOptions {
        read_only: opened.read_only,
        ..LogOptions::default()
    };
    let log = Log::open(
        opened.storage.clone(),
        opened.log_root.clone(),
        options,
        clock.clone(),
    )
    .map_err(|e| e.to_string())?;
    let log = Arc::new(log);
    let keyring = Keyring::new(master_key(settings)?, &settings.kms_key_ids);
    let service = settings.service.clone();
    let record_log = log.clone() as Arc<dyn RecordLog>;
    let kinesis = Kinesis::open(service, record_log, opened.catalog.clone(), clock, keyring)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("storage recovered in {:?}", started.elapsed());
    Ok((log, kinesis))
}

/// Opens Firehose's own log (beside the Kinesis log, in `firehose/`) and the service over it,
/// delivering to the configured object store.
async fn start_firehose(
    settings: &Settings,
    opened: &crate::data_dir::Opened,
    kinesis: &Arc<Kinesis>,
    objects: Arc<dyn ObjectStore>,
) -> Result<(Arc<Log>, Arc<Firehose>), String> {
    let clock: Clock = system_clock();
    let options = LogOptions {
        read_only: opened.read_only,
        ..LogOptions::default()
    };
    let root = opened.log_root.with_file_name("firehose");
    let log = Log::open(opened.storage.clone(), root, options, clock.clone())
        .map_err(|e| format!("Firehose log: {e}"))?;
    let log = Arc::new(log);
    tracing::info!("Firehose delivers to {}", objects.describe());
    let record_log = log.clone() as Arc<dyn RecordLog>;
    let config = settings.firehose.clone();
    let catalog = opened.catalog.clone();
    let source = Some(kinesis.clone());
    let firehose = Firehose::open(config, record_log, catalog, objects, source, clock)
        .await
        .map_err(|e| e.to_string())?;
    Ok((log, firehose))
}

/// Where Firehose delivers and Lambda finds S3 code and writes on-failure records.
fn object_store(settings: &Settings) -> Arc<dyn ObjectStore> {
    match &settings.objects {
        ObjectTarget::S3(options) => Arc::new(S3Store::new(options)),
        ObjectTarget::Directory(dir) => Arc::new(LocalDirStore::new(
            Arc::new(spate_log::storage::FsStorage),
            dir.clone(),
        )),
    }
}

/// Functions and event source mappings. Deployment packages are unpacked under
/// `<data>/lambda/` (a per-process temporary directory in memory).
async fn start_lambda(
    settings: &Settings,
    opened: &crate::data_dir::Opened,
    kinesis: &Arc<Kinesis>,
    objects: Arc<dyn ObjectStore>,
) -> Result<Arc<Lambda>, String> {
    let code_root = match &settings.data_dir {
        Some(dir) => dir.join("lambda"),
        None => std::env::temp_dir().join(format!("spate-lambda-{}", std::process::id())),
    };
    let mut config = LambdaConfig::new(code_root);
    config.runners_dir = std::env::temp_dir().join(format!("spate-runners-{}", std::process::id()));
    config.region = settings.service.region.clone();
    config.account_id = settings.service.account_id.clone();
    config.functions = settings.functions.clone();
    config.trust = settings.trust.clone();
    let catalog = opened.catalog.clone();
    Lambda::open(
        config,
        catalog,
        kinesis.clone(),
        Some(objects),
        system_clock(),
    )
    .await
    .map_err(|e| format!("Lambda: {e}"))
}

/// Without credentials Spate accepts any key: it listens beyond loopback only with a
/// credentials file or an explicit `--auth none`, and says which at start-up.
fn check_exposure(settings: &Settings) -> Result<(), String> {
    let server = &settings.server;
    if let Some(credentials) = &server.credentials {
        tracing::info!(
            "verifying SigV4 signatures: {} access keys accepted",
            credentials.current().len()
        );
        return Ok(());
    }
    let loopback = match settings.host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => settings.host == "localhost",
    };
    if loopback {
        tracing::info!(
            "signatures are not verified (no --credentials-file): any key is accepted on loopback"
        );
        return Ok(());
    }
    if server.auth == spate_server::AuthMode::None {
        tracing::warn!(
            "listening on {} with --auth none: anyone who can reach the port may read, write and delete",
            settings.host
        );
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {} without credentials: give --credentials-file FILE, or --auth none to accept anyone",
        settings.host
    ))
}

/// Firehose's Lambda processors run the server's functions.
struct FunctionRunner(Arc<Lambda>);

impl spate_firehose::delivery::process::Invoke for FunctionRunner {
    fn invoke(
        &self,
        function_arn: &str,
        event: Vec<u8>,
    ) -> spate_wire::service::BoxFuture<Result<serde_json::Value, String>> {
        use spate_lambda::functions::invoke::Outcome;
        let functions = self.0.functions.clone();
        let name = spate_lambda::model::FunctionName::parse(function_arn);
        let arn = function_arn.to_string();
        Box::pin(async move {
            let name = name.ok_or_else(|| format!("{arn} is not a function name or ARN"))?;
            match functions.invoke(&name, bytes::Bytes::from(event)).await {
                Ok(Outcome::Ok(result)) => Ok(result),
                Ok(Outcome::FunctionError(error)) => Err(error.to_string()),
                Err(e) => Err(e.message),
            }
        })
    }
}

/// Firehose's record format conversion reads its tables from the server's Glue catalog.
struct GlueTables(Arc<spate_glue::Glue>);

impl spate_firehose::convert::TableSchemas for GlueTables {
    fn columns<'a>(
        &'a self,
        table: &'a spate_firehose::convert::TableRef,
    ) -> spate_firehose::convert::ColumnsFuture<'a> {
        Box::pin(async move {
            let columns = self
                .0
                .table_columns(
                    Some(&table.catalog_id),
                    &table.database,
                    &table.table,
                    table.version_id.as_deref(),
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(columns.into_iter().map(|c| (c.name, c.type_text)).collect())
        })
    }
}

/// Kinesis Queues, their journals in their own log (`queues/` beside the Kinesis log).
async fn start_queues(
    settings: &Settings,
    opened: &crate::data_dir::Opened,
    kinesis: &Arc<Kinesis>,
) -> Result<(Arc<Log>, Arc<Queues>), String> {
    let clock: Clock = system_clock();
    let options = LogOptions {
        read_only: opened.read_only,
        ..LogOptions::default()
    };
    let root = opened.log_root.with_file_name("queues");
    let log = Log::open(opened.storage.clone(), root, options, clock.clone())
        .map_err(|e| format!("queues log: {e}"))?;
    let log = Arc::new(log);
    let service = &settings.service;
    let mut config = QueuesConfig::new(&service.region, &service.account_id);
    config.creating_delay_ms = service.creating_delay_ms;
    config.updating_delay_ms = service.updating_delay_ms;
    config.deleting_delay_ms = service.deleting_delay_ms;
    config.consumer_limit = service.consumer_limit as usize;
    let record_log = log.clone() as Arc<dyn RecordLog>;
    let catalog = opened.catalog.clone();
    let queues = Queues::open(config, kinesis.clone(), record_log, catalog, clock)
        .await
        .map_err(|e| format!("queues: {e}"))?;
    Ok((log, queues))
}

/// DynamoDB tables and items, from the catalog.
fn start_dynamodb(
    settings: &Settings,
    opened: &crate::data_dir::Opened,
) -> Result<Arc<spate_dynamodb::DynamoDb>, String> {
    let config = spate_dynamodb::DynamoDbConfig {
        region: settings.service.region.clone(),
        account_id: settings.service.account_id.clone(),
    };
    spate_dynamodb::DynamoDb::open(config, opened.catalog.clone())
        .map_err(|e| format!("DynamoDB: {e}"))
}

/// The Glue Data Catalog (databases, tables, table versions), from the catalog. Firehose reads
/// record format conversion schemas from it.
fn start_glue(
    settings: &Settings,
    opened: &crate::data_dir::Opened,
) -> Result<Arc<spate_glue::Glue>, String> {
    let config = spate_glue::GlueConfig {
        region: settings.service.region.clone(),
        account_id: settings.service.account_id.clone(),
    };
    spate_glue::Glue::open(config, opened.catalog.clone()).map_err(|e| format!("Glue: {e}"))
}

/// How often DynamoDB tables with TTL enabled are swept for expired items.
const TTL_SWEEP_INTERVAL: Duration = Duration::from_secs(5);

fn spawn_ttl_sweeps(dynamodb: &Arc<spate_dynamodb::DynamoDb>) -> tokio::task::JoinHandle<()> {
    let dynamodb = dynamodb.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TTL_SWEEP_INTERVAL);
        loop {
            tick.tick().await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            match dynamodb.expire(now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!("DynamoDB TTL: {n} expired items deleted"),
                Err(e) => tracing::warn!("DynamoDB TTL sweep: {e}"),
            }
        }
    })
}

fn spawn_firehose_ticks(firehose: &Arc<Firehose>) -> tokio::task::JoinHandle<()> {
    let firehose = firehose.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(FIREHOSE_TICK_MS));
        loop {
            tick.tick().await;
            firehose.tick().await;
        }
    })
}

/// `--create-stream NAME:SHARDS`: streams that exist already are left as they are.
async fn create_startup_streams(
    kinesis: &Kinesis,
    streams: &[(String, u32)],
) -> Result<(), String> {
    for (name, shards) in streams {
        let stream = StreamName::parse(name)
            .ok_or_else(|| format!("--create-stream {name}: not a valid stream name"))?;
        let request = CreateStream {
            name: stream,
            mode: spate_catalog::StreamMode::Provisioned,
            shard_count: Some(*shards),
            tags: Default::default(),
            max_record_size_kib: None,
            warm_throughput_mibps: None,
            auto_distribution: false,
        };
        match kinesis.streams.create(request).await {
            Ok(_) => tracing::info!("created stream {name} with {shards} shards"),
            Err(e) if e.kind == spate_wire::ErrorKind::ResourceInUse => {}
            Err(e) => return Err(format!("creating stream {name}: {e}")),
        }
    }
    Ok(())
}

/// Maintenance (retention, due deletions and reshards) and the ON_DEMAND scaler.
fn spawn_background(kinesis: &Arc<Kinesis>) -> Vec<tokio::task::JoinHandle<()>> {
    let maintain = kinesis.clone();
    let scale = kinesis.clone();
    let scale_every = Duration::from_millis(kinesis.config().autoscale.interval_ms.max(10));
    vec![
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(MAINTENANCE_INTERVAL_MS));
            loop {
                tick.tick().await;
                maintain.maintain().await;
            }
        }),
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(scale_every);
            loop {
                tick.tick().await;
                scale.autoscale().await;
            }
        }),
    ]
}

/// SIGHUP reads the credentials file and the TLS certificate and key again; a file that no
/// longer parses changes nothing (the error is logged and the old set stays in force).
fn spawn_reloads(server: &spate_server::ServerOptions) -> tokio::task::JoinHandle<()> {
    let (credentials, tls) = (server.credentials.clone(), server.tls.clone());
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                return;
            };
            while hangups.recv().await.is_some() {
                // File reads and parsing: off the async workers.
                let (credentials, tls) = (credentials.clone(), tls.clone());
                let reloaded = tokio::task::spawn_blocking(move || reload(credentials, tls)).await;
                if let Err(e) = reloaded {
                    tracing::error!("SIGHUP: reloading failed: {e}");
                }
            }
        }
        #[cfg(not(unix))]
        let _ = (credentials, tls);
    })
}

/// Reads the credentials file and the certificate files again, logging what happened.
fn reload(
    credentials: Option<Arc<spate_auth::CredentialStore>>,
    tls: Option<Arc<spate_server::tls::TlsFiles>>,
) {
    if let Some(store) = &credentials {
        match store.reload() {
            Ok(keys) => tracing::info!("SIGHUP: credentials reloaded, {keys} access keys"),
            Err(e) => tracing::error!("SIGHUP: credentials not reloaded, the old ones stay: {e}"),
        }
    }
    if let Some(files) = &tls {
        match files.reload() {
            Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
            Err(e) => {
                tracing::error!("SIGHUP: TLS certificate not reloaded, the old one stays: {e}")
            }
        }
    }
    if credentials.is_none() && tls.is_none() {
        tracing::info!("SIGHUP: nothing to reload (no credentials file, no TLS)");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// The master key: `SPATE_MASTER_KEY`, else the key file (read now if it exists, so a bad key
/// stops the start; created only when a stream is first encrypted), else a throw-away key for an
/// in-memory server.
fn master_key(settings: &Settings) -> Result<MasterKeySource, String> {
    if let Ok(text) = std::env::var("SPATE_MASTER_KEY") {
        return MasterKey::from_base64(&text)
            .map(|k| MasterKeySource::Key(Box::new(k)))
            .map_err(|e| format!("SPATE_MASTER_KEY: {e}"));
    }
    let path = match (&settings.master_key_file, &settings.data_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => dir.join("master.key"),
        (None, None) => {
            return MasterKey::generate()
                .map(|k| MasterKeySource::Key(Box::new(k)))
                .map_err(|e| e.to_string())
        }
    };
    if !path.exists() {
        return Ok(MasterKeySource::CreateAt(path));
    }
    let (key, _) = MasterKey::load_or_create(&path).map_err(|e| e.to_string())?;
    Ok(MasterKeySource::Key(Box::new(key)))
}
