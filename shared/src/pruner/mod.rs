//! cache-pruner: removes stale cache objects from the cache locations CodeBuild projects use, and
//! nothing else, at any bucket size, in bounded memory, never what a build still needs. Its
//! variables are documented once, on [`PrunerConfig`]'s fields, in docs/configuration.md;
//! its rules, for the people who run it, in docs/pruner.md.
//!
//! Where each question is answered:
//! * which keys are the pruner's: `scope` (ownership of every key), `locations` (from CodeBuild's
//!   projects and the state's memory of locations no longer used), `root` (whether the bucket root
//!   may be pruned: only in a bucket that holds nothing but cache);
//! * what is deleted and why: `plan` (the pure decisions), `planner` (one location, streamed), with
//!   `newest` (the heaps of the N newest), `writers` (who wrote a shared location's objects: N kept
//!   per live project), `records` and `budget` (budget candidates, the total budget),
//!   `buildkit` (a BuildKit S3 cache inside a location: blobs kept while a kept manifest names them);
//! * how the bucket is listed: `walk` (pure page logic), `lister`, `pager`, `task` (one location),
//!   `rest` (the root and unmanaged folders);
//! * how deletions reach S3: `delete` (the S3 calls themselves live in `crate::aws`);
//! * runs: `sweep` (schedule), `project_run` (a SUCCEEDED build), `lease` (one run at a time),
//!   `keeper` (a lease renewed while a run with no deadline goes on), `waiting` (a sweep waits for
//!   a build-event run's lease, builds yield to it),
//!   `state` and `limits` (resuming, a caller's stop), `state_check` (the state is not
//!   trusted), `deployment` (whose state and lease: one account and region, several of them on one
//!   bucket), `sharing` (whether other accounts use the bucket: its policy), `progress` (live
//!   counters);
//! * what a run reports and says: `report`, `outcome`, `notice`, `calls`; what it freed, kept for
//!   the digest: `freed`; `service` dispatches.

pub mod budget;
pub mod buildkit;
pub mod calls;
pub mod config;
pub mod delete;
pub mod deployment;
pub mod freed;
pub mod keeper;
pub mod lease;
pub mod limits;
pub mod lister;
pub mod locations;
pub mod newest;
pub mod notice;
mod outcome;
pub mod pager;
pub mod plan;
pub mod planner;
pub mod progress;
pub mod project_run;
pub mod records;
pub mod report;
pub mod rest;
pub mod root;
pub mod scope;
pub mod service;
pub mod sharing;
pub mod state;
pub mod state_check;
pub mod sweep;
pub mod task;
#[cfg(test)]
mod testkit;
pub mod waiting;
pub mod walk;
pub mod writers;

pub use config::PrunerConfig;
pub use limits::RunLimits;
pub use plan::{BucketPlan, Deletion, ObjectMeta, PlanSummary, PrunePolicy, Reason, plan_bucket};
pub use planner::LocationPlanner;
pub use progress::{ProgressSnapshot, PruneProgress};
pub use report::PruneReport;
pub use service::{CachePruner, PruneError};
