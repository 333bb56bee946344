//! cache-guard: keeps each project's cache on S3.
//!
//! `plan` decides (pure, plain data: what to do with a project and why), `service` carries the plan
//! out against CodeBuild, S3 and SNS and reports what it did.

pub mod buildspec;
pub mod config;
pub mod notice;
pub mod plan;
pub mod service;

pub use config::GuardConfig;
pub use plan::{GuardPolicy, HealAction, HealPlan, plan_project};
pub use service::{CacheGuard, GuardReport, ProjectOutcome};
