//! cache-pruner: removes stale cache objects from the cache bucket, safely, at any bucket size, in
//! bounded memory, and never what a build still needs. Its variables are documented once, on
//! [`PrunerConfig`]'s fields, and in the README ("cache-pruner" and "How the pruner decides").
//!
//! Where each question is answered:
//! * what is deleted and why: `plan` (the pure decisions) and `planner` (streaming them), with
//!   `newest` (the heap of the N newest) and `records` (budget candidates);
//! * how a run lists, stops and resumes: `run`, `limits`, `state`;
//! * how deletions reach S3: `delete` (the S3 calls themselves live in `crate::aws::s3_objects`);
//! * what a run reports and says: `report`, `notice`, `calls`;
//! * which event does what: `service`.

pub mod calls;
pub mod config;
pub mod delete;
pub mod limits;
pub mod newest;
pub mod notice;
pub mod plan;
pub mod planner;
mod records;
pub mod report;
pub mod run;
pub mod service;
pub mod state;

pub use config::PrunerConfig;
pub use limits::RunLimits;
pub use plan::{Deletion, ObjectMeta, Plan, PlanSummary, PrunePolicy, Reason, plan};
pub use planner::Planner;
pub use report::PruneReport;
pub use service::CachePruner;
