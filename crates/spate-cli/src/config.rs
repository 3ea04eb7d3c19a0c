//! `spate serve` settings: flags, then `SPATE_*` environment variables, then a TOML file, then
//! defaults.

use clap::Args;
use serde::Deserialize;
use spate_firehose::FirehoseConfig;
use spate_lambda::DeclaredFunction;
use spate_server::ServerOptions;
use spate_streams::config::AutoscaleConfig;
use spate_streams::ServiceConfig;
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (flag names with underscores).
    #[arg(long, env = "SPATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to bind.
    #[arg(long, env = "SPATE_HOST")]
    pub host: Option<String>,
    /// Port to bind; 0 picks a free one (printed at start).
    #[arg(long, env = "SPATE_PORT")]
    pub port: Option<u16>,
    /// Durable data directory.
    #[arg(long, env = "SPATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory (nothing survives a restart).
    #[arg(long, env = "SPATE_IN_MEMORY")]
    pub in_memory: bool,
    #[arg(long, env = "SPATE_REGION")]
    pub region: Option<String>,
    #[arg(long, env = "SPATE_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// How long new streams show CREATING.
    #[arg(long, env = "SPATE_CREATING_DELAY_MS")]
    pub creating_delay_ms: Option<u64>,
    /// How long deleted streams show DELETING.
    #[arg(long, env = "SPATE_DELETING_DELAY_MS")]
    pub deleting_delay_ms: Option<u64>,
    /// How long changed streams show UPDATING.
    #[arg(long, env = "SPATE_UPDATING_DELAY_MS")]
    pub updating_delay_ms: Option<u64>,
    /// Open shards allowed across all streams.
    #[arg(long, env = "SPATE_SHARD_LIMIT")]
    pub shard_limit: Option<u32>,
    /// Shard iterator lifetime in seconds.
    #[arg(long, env = "SPATE_ITERATOR_TTL_SECS")]
    pub iterator_ttl_secs: Option<u64>,
    /// Throttle every shard to AWS's limits (1 MiB/s and 1,000 records/s of writes, 5 reads/s
    /// and 2 MiB/s of reads), answering ProvisionedThroughputExceededException like AWS.
    #[arg(long, env = "SPATE_ENFORCE_SHARD_LIMITS")]
    pub enforce_shard_limits: bool,
    /// Throttle every Firehose delivery stream to AWS's Direct PUT quotas (2,000 requests/s,
    /// 500,000 records/s, 5 MiB/s), answering ServiceUnavailableException "Slow down." like AWS.
    #[arg(long, env = "SPATE_ENFORCE_FIREHOSE_LIMITS")]
    pub enforce_firehose_limits: bool,
    /// Enhanced fan-out consumers allowed per stream.
    #[arg(long, env = "SPATE_CONSUMER_LIMIT")]
    pub consumer_limit: Option<u32>,
    /// A SubscribeToShard stream ends after this many seconds (AWS: 300).
    #[arg(long, env = "SPATE_SUBSCRIPTION_LIFETIME_SECS")]
    pub subscription_lifetime_secs: Option<u64>,
    /// An idle SubscribeToShard stream gets an empty event this often, in milliseconds.
    #[arg(long, env = "SPATE_SUBSCRIPTION_HEARTBEAT_MS")]
    pub subscription_heartbeat_ms: Option<u64>,
    /// Shards of a new ON_DEMAND stream (also the fewest it scales down to).
    #[arg(long, env = "SPATE_ON_DEMAND_SHARD_COUNT")]
    pub on_demand_shard_count: Option<u32>,
    /// Shard rates (hot-shards, ON_DEMAND scaling) average over about this many milliseconds.
    #[arg(long, env = "SPATE_RATE_WINDOW_MS")]
    pub rate_window_ms: Option<u64>,
    /// ON_DEMAND scaling: split a shard at this fraction of its write limit.
    #[arg(long, env = "SPATE_AUTOSCALE_SPLIT_ABOVE")]
    pub autoscale_split_above: Option<f64>,
    /// ON_DEMAND scaling: merge adjacent shards whose loads together stay below this fraction.
    #[arg(long, env = "SPATE_AUTOSCALE_MERGE_BELOW")]
    pub autoscale_merge_below: Option<f64>,
    /// ON_DEMAND scaling: milliseconds after a change before the next split.
    #[arg(long, env = "SPATE_AUTOSCALE_UP_COOLDOWN_MS")]
    pub autoscale_up_cooldown_ms: Option<u64>,
    /// ON_DEMAND scaling: milliseconds after a change before a merge.
    #[arg(long, env = "SPATE_AUTOSCALE_DOWN_COOLDOWN_MS")]
    pub autoscale_down_cooldown_ms: Option<u64>,
    /// ON_DEMAND scaling: most open shards per stream.
    #[arg(long, env = "SPATE_AUTOSCALE_MAX_SHARDS")]
    pub autoscale_max_shards: Option<u32>,
    /// ON_DEMAND scaling: how often the scaler runs, in milliseconds.
    #[arg(long, env = "SPATE_AUTOSCALE_INTERVAL_MS")]
    pub autoscale_interval_ms: Option<u64>,
    /// UpdateShardCount calls allowed per stream in a rolling 24 hours.
    #[arg(long, env = "SPATE_RESIZE_CALLS_PER_DAY")]
    pub resize_calls_per_day: Option<u32>,
    /// File holding the master key (base64 of 32 bytes) that wraps encrypted streams' data keys;
    /// created if absent. Default: master.key in the data directory (with a warning: keep it on
    /// another volume for real protection). SPATE_MASTER_KEY may hold the key itself instead.
    #[arg(long, env = "SPATE_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// KMS key ids StartStreamEncryption accepts besides alias/aws/kinesis (key id, key ARN,
    /// alias name or alias ARN; comma-separated in the env).
    #[arg(long = "kms-key-id", env = "SPATE_KMS_KEY_IDS", value_delimiter = ',')]
    pub kms_key_ids: Vec<String>,
    /// Streams to create at start-up, as NAME:SHARDS (repeatable; comma-separated in the env).
    #[arg(
        long = "create-stream",
        env = "SPATE_CREATE_STREAMS",
        value_delimiter = ','
    )]
    pub create_streams: Vec<String>,
    /// Functions for event source mappings and Invoke, as NAME=TARGET (repeatable;
    /// semicolon-separated in the env). TARGET: http(s)://URL, exec:COMMAND ARGS,
    /// node:DIR/module.export or python:DIR/module.function.
    #[arg(long = "function", env = "SPATE_FUNCTIONS", value_delimiter = ';')]
    pub functions: Vec<String>,
    /// PEM certificates Spate's own outgoing TLS connections trust besides the system's roots
    /// (HTTP endpoint destinations, S3, function URLs), like the AWS CLI's --ca-bundle.
    #[arg(long, env = "SPATE_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub objects: ObjectArgs,
}

/// Where Firehose delivers objects: a directory per bucket (the default), or an S3-compatible
/// endpoint.
#[derive(Args, Debug, Default)]
pub struct ObjectArgs {
    /// Deliver to this S3-compatible endpoint (`http://host:port` or `https://…`, path-style)
    /// instead of local directories.
    #[arg(long, env = "SPATE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Region the S3 endpoint signs for (default: the server's region).
    #[arg(long, env = "SPATE_S3_REGION")]
    pub s3_region: Option<String>,
    /// Access key for the S3 endpoint (default: AWS_ACCESS_KEY_ID).
    #[arg(long, env = "SPATE_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// Secret key for the S3 endpoint (default: AWS_SECRET_ACCESS_KEY).
    #[arg(long, env = "SPATE_S3_SECRET_ACCESS_KEY")]
    pub s3_secret_access_key: Option<String>,
    /// Without --s3-endpoint: the directory holding a directory per bucket (default: buckets/
    /// in the data directory; in memory: spate-buckets/ in the system's temporary directory).
    #[arg(long, env = "SPATE_BUCKETS_DIR")]
    pub buckets_dir: Option<PathBuf>,
    /// Let Firehose HTTP endpoint destinations use plain `http://` URLs (AWS accepts `https://`
    /// only): for local receivers and trusted networks.
    #[arg(long, env = "SPATE_FIREHOSE_ALLOW_HTTP")]
    pub firehose_allow_http: bool,
}

/// Where delivered objects go, resolved.
#[derive(Debug, Clone)]
pub enum ObjectTarget {
    Directory(PathBuf),
    S3(spate_objects::S3Options),
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    host: Option<String>,
    port: Option<u16>,
    data_dir: Option<PathBuf>,
    in_memory: Option<bool>,
    region: Option<String>,
    account_id: Option<String>,
    creating_delay_ms: Option<u64>,
    deleting_delay_ms: Option<u64>,
    updating_delay_ms: Option<u64>,
    shard_limit: Option<u32>,
    iterator_ttl_secs: Option<u64>,
    resize_calls_per_day: Option<u32>,
    enforce_shard_limits: Option<bool>,
    enforce_firehose_limits: Option<bool>,
    on_demand_shard_count: Option<u32>,
    consumer_limit: Option<u32>,
    subscription_lifetime_secs: Option<u64>,
    subscription_heartbeat_ms: Option<u64>,
    rate_window_ms: Option<u64>,
    autoscale_split_above: Option<f64>,
    autoscale_merge_below: Option<f64>,
    autoscale_up_cooldown_ms: Option<u64>,
    autoscale_down_cooldown_ms: Option<u64>,
    autoscale_max_shards: Option<u32>,
    autoscale_interval_ms: Option<u64>,
    create_streams: Option<Vec<String>>,
    functions: Option<Vec<String>>,
    master_key_file: Option<PathBuf>,
    kms_key_ids: Option<Vec<String>>,
    auth: Option<String>,
    credentials_file: Option<PathBuf>,
    audit_log: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    ca_bundle: Option<PathBuf>,
    connections_max: Option<usize>,
    max_body_bytes: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    response_stall_timeout_ms: Option<u64>,
    response_buffer_bytes_max: Option<usize>,
    connection_response_buffer_bytes_max: Option<usize>,
    h2_max_concurrent_streams: Option<u32>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    buckets_dir: Option<PathBuf>,
    firehose_allow_http: Option<bool>,
}

/// Everything `serve` needs, resolved.
#[derive(Debug)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// `None` in memory.
    pub data_dir: Option<PathBuf>,
    pub service: ServiceConfig,
    pub create_streams: Vec<(String, u32)>,
    pub functions: Vec<DeclaredFunction>,
    pub master_key_file: Option<PathBuf>,
    pub kms_key_ids: Vec<String>,
    pub server: ServerOptions,
    pub firehose: FirehoseConfig,
    pub objects: ObjectTarget,
    /// What outgoing TLS connections trust (`--ca-bundle`).
    pub trust: spate_outbound::Trust,
}

/// A setting: the flag (or its environment variable), else the file, else the default.
macro_rules! pick {
    ($args:expr, $file:expr, $field:ident, $default:expr) => {
        $args.$field.or($file.$field).unwrap_or($default)
    };
}

mod server;
pub use server::ServerArgs;

/// How ON_DEMAND streams scale.
fn autoscale(args: &ServeArgs, file: &FileConfig) -> AutoscaleConfig {
    let d = AutoscaleConfig::default();
    AutoscaleConfig {
        interval_ms: args
            .autoscale_interval_ms
            .or(file.autoscale_interval_ms)
            .unwrap_or(d.interval_ms),
        split_above: args
            .autoscale_split_above
            .or(file.autoscale_split_above)
            .unwrap_or(d.split_above),
        merge_below: args
            .autoscale_merge_below
            .or(file.autoscale_merge_below)
            .unwrap_or(d.merge_below),
        up_cooldown_ms: args
            .autoscale_up_cooldown_ms
            .or(file.autoscale_up_cooldown_ms)
            .unwrap_or(d.up_cooldown_ms),
        down_cooldown_ms: args
            .autoscale_down_cooldown_ms
            .or(file.autoscale_down_cooldown_ms)
            .unwrap_or(d.down_cooldown_ms),
        max_shards: args
            .autoscale_max_shards
            .or(file.autoscale_max_shards)
            .unwrap_or(d.max_shards),
    }
}

/// The Kinesis service's settings.
fn service(args: &ServeArgs, file: &FileConfig) -> ServiceConfig {
    let d = ServiceConfig::default();
    let secs_to_ms = |s: u64| s.saturating_mul(1000);
    ServiceConfig {
        region: args
            .region
            .clone()
            .or(file.region.clone())
            .unwrap_or(d.region.clone()),
        account_id: args
            .account_id
            .clone()
            .or(file.account_id.clone())
            .unwrap_or(d.account_id.clone()),
        creating_delay_ms: pick!(args, file, creating_delay_ms, d.creating_delay_ms),
        deleting_delay_ms: pick!(args, file, deleting_delay_ms, d.deleting_delay_ms),
        updating_delay_ms: pick!(args, file, updating_delay_ms, d.updating_delay_ms),
        shard_limit: pick!(args, file, shard_limit, d.shard_limit),
        iterator_ttl_ms: args
            .iterator_ttl_secs
            .or(file.iterator_ttl_secs)
            .map_or(d.iterator_ttl_ms, |s| {
                i64::try_from(secs_to_ms(s)).unwrap_or(i64::MAX)
            }),
        on_demand_shard_count: pick!(args, file, on_demand_shard_count, d.on_demand_shard_count)
            .max(1),
        consumer_limit: pick!(args, file, consumer_limit, d.consumer_limit),
        subscription_lifetime_ms: args
            .subscription_lifetime_secs
            .or(file.subscription_lifetime_secs)
            .map_or(d.subscription_lifetime_ms, secs_to_ms),
        subscription_heartbeat_ms: pick!(
            args,
            file,
            subscription_heartbeat_ms,
            d.subscription_heartbeat_ms
        ),
        rate_window_ms: pick!(args, file, rate_window_ms, d.rate_window_ms),
        autoscale: autoscale(args, file),
        enforce_shard_limits: args.enforce_shard_limits
            || file.enforce_shard_limits.unwrap_or(false),
        resize_calls_per_day: pick!(args, file, resize_calls_per_day, d.resize_calls_per_day),
        ..d
    }
}

/// Firehose shares the account, region and lifecycle delays with Kinesis.
fn firehose(
    service: &ServiceConfig,
    (allow_http_endpoints, enforce_limits): (bool, bool),
    trust: &spate_outbound::Trust,
) -> FirehoseConfig {
    FirehoseConfig {
        trust: trust.clone(),
        allow_http_endpoints,
        enforce_limits,
        region: service.region.clone(),
        account_id: service.account_id.clone(),
        creating_delay_ms: service.creating_delay_ms,
        deleting_delay_ms: service.deleting_delay_ms,
        updating_delay_ms: service.updating_delay_ms,
        ..FirehoseConfig::default()
    }
}

fn objects(
    args: ObjectArgs,
    file: &FileConfig,
    (region, trust): (&str, &spate_outbound::Trust),
    data_dir: Option<&PathBuf>,
) -> ObjectTarget {
    let env = |name: &str| std::env::var(name).ok();
    if let Some(endpoint) = args.s3_endpoint.or(file.s3_endpoint.clone()) {
        return ObjectTarget::S3(spate_objects::S3Options {
            endpoint,
            trust: trust.clone(),
            region: args
                .s3_region
                .or(file.s3_region.clone())
                .unwrap_or_else(|| region.to_string()),
            access_key_id: args
                .s3_access_key_id
                .or(file.s3_access_key_id.clone())
                .or_else(|| env("AWS_ACCESS_KEY_ID"))
                .unwrap_or_else(|| "spate".into()),
            secret_access_key: args
                .s3_secret_access_key
                .or(file.s3_secret_access_key.clone())
                .or_else(|| env("AWS_SECRET_ACCESS_KEY"))
                .unwrap_or_else(|| "spate".into()),
        });
    }
    let dir = args.buckets_dir.or(file.buckets_dir.clone());
    ObjectTarget::Directory(dir.unwrap_or_else(|| match data_dir {
        Some(data) => data.join("buckets"),
        None => std::env::temp_dir().join("spate-buckets"),
    }))
}

fn read_file(path: Option<&PathBuf>) -> Result<FileConfig, String> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

impl ServeArgs {
    pub fn resolve(mut self) -> Result<Settings, String> {
        let file = read_file(self.config.as_ref())?;
        let service = service(&self, &file);
        let (region, account_id) = (service.region.clone(), service.account_id.clone());
        let in_memory = self.in_memory || file.in_memory.unwrap_or(false);
        let create = match std::mem::take(&mut self.create_streams) {
            flags if flags.is_empty() => file.create_streams.clone().unwrap_or_default(),
            flags => flags,
        };
        let create_streams = create
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_stream_spec(s))
            .collect::<Result<_, _>>()?;
        let functions = match std::mem::take(&mut self.functions) {
            flags if flags.is_empty() => file.functions.clone().unwrap_or_default(),
            flags => flags,
        };
        let functions = functions
            .iter()
            .filter(|f| !f.trim().is_empty())
            .map(|f| DeclaredFunction::parse_flag(f.trim()))
            .collect::<Result<_, _>>()?;
        let kms_key_ids = match std::mem::take(&mut self.kms_key_ids) {
            flags if flags.is_empty() => file.kms_key_ids.clone().unwrap_or_default(),
            flags => flags,
        };
        let data_dir = self.data_dir.take().or(file.data_dir.clone());
        let data_dir =
            (!in_memory).then(|| data_dir.unwrap_or_else(|| PathBuf::from("spate-data")));
        let allow_http =
            self.objects.firehose_allow_http || file.firehose_allow_http.unwrap_or(false);
        let enforce_firehose_limits =
            self.enforce_firehose_limits || file.enforce_firehose_limits.unwrap_or(false);
        let trust = match self.ca_bundle.take().or(file.ca_bundle.clone()) {
            Some(path) => spate_outbound::Trust::with_bundle(&path)?,
            None => spate_outbound::Trust::system(),
        };
        let objects = objects(
            std::mem::take(&mut self.objects),
            &file,
            (&service.region, &trust),
            data_dir.as_ref(),
        );
        Ok(Settings {
            host: self
                .host
                .take()
                .or(file.host.clone())
                .unwrap_or_else(|| "127.0.0.1".into()),
            port: self.port.or(file.port).unwrap_or(4567),
            data_dir,
            firehose: firehose(&service, (allow_http, enforce_firehose_limits), &trust),
            trust,
            objects,
            service,
            create_streams,
            functions,
            master_key_file: self.master_key_file.take().or(file.master_key_file.clone()),
            kms_key_ids,
            server: ServerOptions {
                region: region.clone(),
                account_id: account_id.clone(),
                ..server::server_options(std::mem::take(&mut self.server), &file)?
            },
        })
    }
}

/// `orders:4` -> ("orders", 4); a bare name gets one shard.
fn parse_stream_spec(spec: &str) -> Result<(String, u32), String> {
    match spec.trim().split_once(':') {
        None => Ok((spec.trim().to_string(), 1)),
        Some((name, shards)) => {
            let n = shards
                .parse()
                .map_err(|_| format!("--create-stream {spec}: shard count must be a number"))?;
            Ok((name.to_string(), n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beat_defaults() {
        let dir = std::env::temp_dir().join(format!("spate-cli-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spate.toml");
        std::fs::write(
            &path,
            "port = 9000\nregion = \"eu-west-1\"\ncreate_streams = [\"a:2\"]\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            port: Some(1234),
            ..ServeArgs::default()
        };
        let s = args.resolve().unwrap();
        assert_eq!(s.port, 1234);
        assert_eq!(s.service.region, "eu-west-1");
        assert_eq!(s.create_streams, vec![("a".to_string(), 2)]);
        assert_eq!(s.data_dir, Some(PathBuf::from("spate-data")));
        assert_eq!(s.host, "127.0.0.1");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_stream_spec_is_an_error() {
        assert!(parse_stream_spec("a:x").is_err());
        assert_eq!(parse_stream_spec("a").unwrap(), ("a".to_string(), 1));
    }
}
