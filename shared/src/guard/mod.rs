//! cache-guard: keeps each project's cache on S3, where S3 is the right cache and will work.
//!
//! `plan` decides from the project alone (pure, plain data); `gates`, `look` and `access` apply the
//! facts that cost a call (bucket, who else uses a location, what the location already holds,
//! fleet, the service role's access), with `kms` (an SSE-KMS bucket's key and the statement to
//! add), `owner` (who deploys the project, from its tags, and the change to make there) and
//! `loops` (heal loops, tell-only for owned projects; `history` reads the heals back), applied
//! by `assess`, which also says what the guard found of the role's access; `run`
//! gathers those facts and carries plans out; `dispatch` and `notice` tell people; `dedup` names
//! the once-only markers; `service` is the entry point.
//!
//! For the people who run it: docs/guard.md (how the guard decides), docs/configuration.md (its
//! variables).

pub mod access;
pub mod assess;
pub mod buildspec;
pub mod config;
pub mod dedup;
pub mod dispatch;
pub mod gates;
pub mod history;
pub mod kms;
pub mod look;
pub mod loops;
pub mod notice;
pub mod owner;
pub mod plan;
pub mod report;
pub mod run;
pub mod service;

pub use assess::{Assessment, LocationAccess};
pub use config::GuardConfig;
pub use plan::{GuardPolicy, HealAction, HealPlan, Leave, plan_project};
pub use service::{CacheGuard, GuardReport, ProjectOutcome};
