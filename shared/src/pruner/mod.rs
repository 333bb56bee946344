//! cache-pruner: prunes stale cache objects from the cache bucket, safely, at any bucket size, in
//! bounded memory.
//!
//! `plan` decides (a pure streaming planner: which objects to delete and why), `service` lists,
//! deletes, resumes and reports; `state` is the small resume object under the reserved prefix.

pub mod config;
pub mod plan;
pub mod service;
pub mod state;

pub use config::PrunerConfig;
pub use plan::{Deletion, ObjectMeta, Plan, PlanSummary, Planner, PrunePolicy, Reason, plan};
pub use service::{CachePruner, PruneReport, RunLimits};
