//! The Kinesis Data Streams service: pure logic over a [`RecordLog`] and a [`Catalog`].
//!
//! Each operation takes its typed wire request, validates it (AWS's messages), does one service
//! step, and returns a typed response or an [`ApiError`]; no HTTP or JSON here.

mod autoscale;
pub mod config;
mod consumers;
mod control;
mod data;
pub mod encryption;
pub mod hashing;
pub mod iterator;
mod registry;
mod reshard;
pub mod sequence;
mod settings;
pub mod subscribe;
mod tags;
pub mod traffic;
mod validation;

pub use config::ServiceConfig;
pub use encryption::{Keyring, MasterKeySource};
pub use registry::Kinesis;
pub use spate_catalog::{Catalog, MemCatalog, RedbCatalog};
pub use spate_keyring::MasterKey;
pub use spate_log::RecordLog;
pub use spate_wire::{ApiError, ErrorKind};
pub use subscribe::{Subscription, SubscriptionEvent};
