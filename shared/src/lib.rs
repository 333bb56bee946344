//! cache-sentinel: the logic, models, configuration and AWS adapters behind the Lambda functions.
//!
//! The Lambda crates under `functions/` are thin: they parse configuration once, build clients once,
//! and hand each event to the services here. Decisions are pure functions over plain data
//! (`guard::plan`), and effects live in the AWS adapters (`aws`), so the logic is tested without the
//! network and the adapters against an emulator.

pub mod audit;
pub mod aws;
pub mod build;
pub mod clock;
pub mod compute;
pub mod config;
pub mod digest;
pub mod error;
pub mod event;
pub mod filter;
pub mod findings;
pub mod guard;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod org;
pub mod project;
pub mod pruner;
pub mod recent_builds;
pub mod recent_logs;
#[cfg(test)]
mod snapshots;
pub mod startup;
pub mod telemetry;

#[cfg(feature = "test-support")]
pub mod testing;

#[cfg(test)]
mod docs_tests;

/// Keys under this prefix of the cache bucket belong to cache-sentinel itself (pruner state,
/// notification markers). CodeBuild project names start with a letter or a digit (the API's
/// `[A-Za-z0-9][A-Za-z0-9\-_]{1,254}`, checked in `event::validate_project_name`), never a '.', so no
/// project prefix can collide with it, and the pruner never deletes under it.
pub const RESERVED_PREFIX: &str = ".cache-sentinel/";
