//! The scheduler: leases for every shard, renewed every third of the failover time; leases whose
//! counters have not moved for the failover time (as observed here, not by clocks compared
//! across machines) taken over, oldest first, up to an even share, or one stolen from the most
//! loaded worker; a processor started for each held lease whose parents are finished.

use crate::lease::{Lease, LeaseError, LeaseTable, LATEST, SHARD_END, TRIM_HORIZON};
use crate::shard::{consume, Ended, ShardContext, Stop};
use crate::{ConsumerConfig, ConsumerError, InitialPosition, RecordProcessor};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::marker::PhantomData;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a graceful shutdown waits for a processor to checkpoint.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct Scheduler<F, P> {
    kinesis: aws_sdk_kinesis::Client,
    /// The enhanced fan-out consumer's ARN, once registered.
    consumer_arn: Option<String>,
    table: LeaseTable,
    config: ConsumerConfig,
    factory: F,
    processor: PhantomData<fn() -> P>,
}

/// A lease this worker holds, and its processor's task once started.
struct Held {
    lease: Lease,
    stop: watch::Sender<Stop>,
    task: Option<JoinHandle<Result<Ended, ConsumerError>>>,
}

/// A lease's owner and counter as last seen, and since when.
struct Observed {
    owner: Option<String>,
    counter: u64,
    since: Instant,
}

#[derive(Default)]
struct State {
    held: HashMap<String, Held>,
    observed: HashMap<String, Observed>,
    /// Shards the stream had at the last sync.
    shards: HashSet<String>,
    last_sync: Option<Instant>,
}

impl<F, P> Scheduler<F, P>
where
    F: Fn() -> P + Send + Sync + 'static,
    P: RecordProcessor,
{
    pub fn new(
        kinesis: aws_sdk_kinesis::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        config: ConsumerConfig,
        factory: F,
    ) -> Scheduler<F, P> {
        let table = LeaseTable::new(dynamodb, config.application_name.clone());
        Scheduler {
            kinesis,
            consumer_arn: None,
            table,
            config,
            factory,
            processor: PhantomData,
        }
    }

    /// Runs until `shutdown` resolves, then asks every processor to checkpoint and gives the
    /// leases up.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), ConsumerError> {
        self.table.ensure().await?;
        if let crate::Retrieval::FanOut { consumer_name } = &self.config.retrieval {
            let (stream, name) = (&self.config.stream_name, consumer_name);
            self.consumer_arn = Some(crate::fanout::register(&self.kinesis, stream, name).await?);
        }
        let mut state = State::default();
        let every = (self.config.failover_time / 3).max(Duration::from_millis(50));
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.tick(&mut state).await {
                tracing::warn!("{}: {e}", self.config.worker_id);
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        self.shut_down(&mut state).await;
        Ok(())
    }

    async fn tick(&self, state: &mut State) -> Result<(), ConsumerError> {
        let due = state
            .last_sync
            .is_none_or(|t| t.elapsed() >= self.config.shard_sync_interval);
        if due {
            self.sync_shards(state).await?;
            state.last_sync = Some(Instant::now());
        }
        self.renew(state).await;
        let leases = self.table.list().await?;
        self.observe(state, &leases);
        self.take(state, &leases).await?;
        self.start_ready(state, &leases);
        Ok(())
    }

    /// A lease for every shard of the stream (existing leases are left as they are).
    async fn sync_shards(&self, state: &mut State) -> Result<(), ConsumerError> {
        let mut token: Option<String> = None;
        let mut shards = Vec::new();
        loop {
            let request = match &token {
                Some(t) => self.kinesis.list_shards().next_token(t),
                None => self
                    .kinesis
                    .list_shards()
                    .stream_name(&self.config.stream_name),
            };
            let page = request
                .send()
                .await
                .map_err(|e| ConsumerError::Kinesis(e.to_string()))?;
            shards.extend(page.shards().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let ids: HashSet<String> = shards.iter().map(|s| s.shard_id().to_string()).collect();
        let initial = match self.config.initial_position {
            InitialPosition::TrimHorizon => TRIM_HORIZON,
            InitialPosition::Latest => LATEST,
        };
        for shard in &shards {
            let parents: Vec<String> = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .map(str::to_string)
                .collect();
            let root = parents.iter().all(|p| !ids.contains(p));
            let range = shard.hash_key_range();
            let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u128>().ok()).unwrap_or(0);
            let range = (
                parse(range.map(|r| r.starting_hash_key())),
                parse(range.map(|r| r.ending_hash_key())),
            );
            let checkpoint = if root { initial } else { TRIM_HORIZON };
            self.table
                .create(&Lease::new(shard.shard_id(), parents, range, checkpoint))
                .await?;
        }
        state.shards = ids;
        Ok(())
    }

    /// Renews held leases; a lease that could not be renewed is lost and its processor told.
    async fn renew(&self, state: &mut State) {
        let me = &self.config.worker_id;
        let mut gone = Vec::new();
        for (shard, held) in state.held.iter_mut() {
            if let Some(task) = &held.task {
                if task.is_finished() {
                    gone.push((shard.clone(), true));
                    continue;
                }
            }
            match self.table.renew(&held.lease, me).await {
                Ok(counter) => held.lease.counter = counter,
                Err(LeaseError::Lost) => {
                    let _ = held.stop.send(Stop::LeaseLost);
                    gone.push((shard.clone(), false));
                }
                Err(e) => tracing::warn!("{me}: renewing {shard}: {e}"),
            }
        }
        for (shard, finished) in gone {
            if let Some(held) = state.held.remove(&shard) {
                if finished {
                    if let Some(Some(Ok(Err(e)))) = held.task.map(|t| t.now_or_never()) {
                        tracing::warn!("{me}: {shard}: {e}");
                    }
                    // Finished (SHARD_END) or failed: let the lease go, someone may retry it.
                    let _ = self.table.release(&shard, me).await;
                }
            }
        }
    }

    fn observe(&self, state: &mut State, leases: &[Lease]) {
        let now = Instant::now();
        for lease in leases {
            let entry = state
                .observed
                .entry(lease.shard_id.clone())
                .or_insert(Observed {
                    owner: lease.owner.clone(),
                    counter: lease.counter,
                    since: now,
                });
            if entry.owner != lease.owner || entry.counter != lease.counter {
                *entry = Observed {
                    owner: lease.owner.clone(),
                    counter: lease.counter,
                    since: now,
                };
            }
        }
    }

    /// The leases to take now: expired ones, oldest first, up to an even share; if there are
    /// none, one of the most loaded worker's when it holds more than its share.
    fn choose<'l>(&self, state: &State, leases: &'l [Lease]) -> Vec<&'l Lease> {
        let me = self.config.worker_id.as_str();
        let failover = self.config.failover_time;
        let expired = |lease: &Lease| {
            lease.owner.is_none()
                || state
                    .observed
                    .get(&lease.shard_id)
                    .is_some_and(|o| o.since.elapsed() >= failover)
        };
        let active: Vec<&Lease> = leases
            .iter()
            .filter(|l| l.checkpoint != SHARD_END)
            .collect();
        let mut load: HashMap<&str, usize> = HashMap::from([(me, 0)]);
        for lease in &active {
            if let (Some(owner), false) = (lease.owner.as_deref(), expired(lease)) {
                *load.entry(owner).or_default() += 1;
            }
        }
        let target = active.len().div_ceil(load.len());
        let mine = state.held.len();
        if mine >= target {
            return Vec::new();
        }
        let mut candidates: Vec<&Lease> = active
            .iter()
            .copied()
            .filter(|l| expired(l) && !state.held.contains_key(&l.shard_id))
            .collect();
        // Very old leases first.
        candidates.sort_by_key(|l| state.observed.get(&l.shard_id).map(|o| o.since));
        candidates.truncate(target - mine);
        if candidates.is_empty() {
            let busiest = load
                .iter()
                .filter(|(w, n)| **w != me && **n > target)
                .max_by_key(|(_, n)| **n);
            if let Some((owner, _)) = busiest {
                candidates.extend(
                    active
                        .iter()
                        .copied()
                        .filter(|l| l.owner.as_deref() == Some(*owner))
                        .take(1),
                );
            }
        }
        candidates
    }

    /// Takes the chosen leases; one another worker took first is skipped.
    async fn take(&self, state: &mut State, leases: &[Lease]) -> Result<(), ConsumerError> {
        let me = self.config.worker_id.as_str();
        for lease in self.choose(state, leases) {
            let lease = match self.table.take(lease, me).await {
                Ok(lease) => lease,
                Err(LeaseError::Lost) => continue,
                Err(e) => return Err(e.into()),
            };
            tracing::info!(
                "{me}: took {} (checkpoint {})",
                lease.shard_id,
                lease.checkpoint
            );
            let (stop, _) = watch::channel(Stop::Running);
            let held = Held {
                lease,
                stop,
                task: None,
            };
            state.held.insert(held.lease.shard_id.clone(), held);
        }
        Ok(())
    }

    /// Starts processors for held leases whose parents have all reached SHARD_END (or are no
    /// longer in the stream).
    fn start_ready(&self, state: &mut State, leases: &[Lease]) {
        let finished: HashSet<&str> = leases
            .iter()
            .filter(|l| l.checkpoint == SHARD_END)
            .map(|l| l.shard_id.as_str())
            .collect();
        let shards = &state.shards;
        for held in state.held.values_mut() {
            if held.task.is_some() {
                continue;
            }
            let ready = held
                .lease
                .parents
                .iter()
                .all(|p| finished.contains(p.as_str()) || !shards.contains(p));
            if !ready {
                continue;
            }
            let ctx = ShardContext {
                kinesis: self.kinesis.clone(),
                table: self.table.clone(),
                config: self.config.clone(),
                lease: held.lease.clone(),
                consumer_arn: self.consumer_arn.clone(),
            };
            let processor = (self.factory)();
            held.task = Some(tokio::spawn(consume(ctx, processor, held.stop.subscribe())));
        }
    }

    /// Graceful hand-off: every processor checkpoints, then the leases are given up.
    async fn shut_down(&self, state: &mut State) {
        let me = &self.config.worker_id;
        for (shard, held) in state.held.drain() {
            let _ = held.stop.send(Stop::Shutdown);
            if let Some(task) = held.task {
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
            }
            if let Err(e) = self.table.release(&shard, me).await {
                tracing::debug!("{me}: releasing {shard}: {e}");
            }
        }
    }
}

/// `now_or_never` for a finished task, without the futures crate.
trait NowOrNever<T> {
    fn now_or_never(self) -> Option<T>;
}

impl<T> NowOrNever<Result<T, tokio::task::JoinError>> for JoinHandle<T> {
    fn now_or_never(self) -> Option<Result<T, tokio::task::JoinError>> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut task = self;
        match std::pin::Pin::new(&mut task).poll(&mut cx) {
            std::task::Poll::Ready(r) => Some(r),
            std::task::Poll::Pending => None,
        }
    }
}
