//! The Kinesis Data Streams service.
//!
//! * [`api`]: the wire edge; validates each request into domain values ([`model`]) and calls
//!   one component. The front door dispatches to [`api::KinesisApi`].
//! * Components, each owning its state and locks: [`streams::Streams`] (control plane, tags,
//!   ListShards), [`records::Records`] (data plane), [`reshard::Resharding`] (splits, merges,
//!   ON_DEMAND scaling), [`consumers::Consumers`] (enhanced fan-out, SubscribeToShard),
//!   [`settings::Settings`] (mode, limits, monitoring, encryption, policies).
//! * [`store`]: the stream registry they share, persisted through the catalog.
//!
//! No HTTP here, and no JSON outside `api`.

pub mod api;
pub mod config;
pub mod consumers;
pub mod encryption;
mod errors;
pub mod hashing;
pub mod iterator;
pub mod model;
mod output;
pub mod reader;
pub mod records;
pub mod reshard;
pub mod sequence;
mod service;
pub mod settings;
mod shards;
mod store;
pub mod streams;
pub mod subscribe;
mod tags;
pub mod traffic;

#[cfg(test)]
mod tests;

pub use config::ServiceConfig;
pub use encryption::{Keyring, MasterKeySource};
pub use service::Kinesis;
pub use spate_catalog::{Catalog, MemCatalog, RedbCatalog};
pub use spate_keyring::MasterKey;
pub use spate_log::RecordLog;
pub use spate_wire::{ApiError, ErrorKind};
pub use store::{DependentKind, StreamDependents};
pub use subscribe::{Subscription, SubscriptionEvent};
