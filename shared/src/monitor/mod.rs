//! build-time-monitor: tells subscribers when a build takes longer than it should, and when its
//! cache is configured but not working.
//!
//! Pure: `facts` reads a build from its event (the model is `crate::build`; its end from fields that
//! agree), `baseline` summarises the project's history, `like_with_like` keeps the baseline to
//! earlier builds of the same scenario, `scenario` decides which expectation applies, `judge` gives
//! the verdict (final statuses, the limit applied, times beyond the timeouts refused),
//! `judge_build` composes the three for one build against its history; `log` reads a build log as
//! it streams (`log::build_log`, `log::docker_steps`, `log::causes`: what broke the cache, in the
//! tools' own lines), `evidence` says what it and the cache location show, `streak` tells
//! consecutive builds apart, `cache_value` weighs the cache's own work against what it saved;
//! `render` and `render_cache` write the notices. Effects: `service`
//! dispatches (and `digest` sends the weekly digest of `crate::digest`), `service`
//! fetches, judges and notifies once per build and kind (`notify_once`), and once per project,
//! cause and window while a project stays slow (`repeat`, pure), `collect` reads the
//! evidence, `ineffective` keeps the streak and its notice, `failed_causes` tells a failed build's
//! causes once per project, cause and day, `sweep` watches running builds; `cache_records` reads a
//! project's streak back for others (the audit); `cache_standing` names a slow build's cache
//! setting as its likely cause and says what the guard did with its project; `report` and `error`
//! are what an invocation returns.
//!
//! For the people who read its emails: docs/monitor.md (how the monitor decides),
//! docs/configuration.md (its variables), shared/tests/corpus/README.md (the labelled corpus).

pub mod baseline;
pub mod cache_records;
pub mod cache_standing;
pub mod cache_value;
pub mod collect;
pub mod config;
pub mod dates;
pub mod digest;
pub mod error;
pub mod evidence;
pub mod expected;
pub mod facts;
pub mod failed_causes;
pub mod ineffective;
pub mod judge;
pub mod judge_build;
pub mod like_with_like;
pub mod log;
pub mod notify_once;
pub mod render;
pub mod render_cache;
pub mod repeat;
pub mod report;
pub mod scenario;
pub mod service;
pub mod streak;
pub mod sweep;

pub use config::MonitorConfig;
pub use error::MonitorError;
pub use report::{MonitorReport, Outcome};
pub use service::BuildTimeMonitor;
