//! build-time-monitor: tells subscribers when a build takes longer than it should.
//!
//! `facts` reads a build from its event (the model is `crate::build`), `baseline` summarises the
//! project's history, `scenario` decides which expectation applies, `judge` gives the verdict (all
//! pure), `render` writes the notice, and `service` fetches, judges, and notifies once per build and
//! kind.

pub mod baseline;
pub mod config;
pub mod dates;
pub mod expected;
pub mod facts;
pub mod judge;
pub mod render;
pub mod scenario;
pub mod service;

pub use config::MonitorConfig;
pub use service::{BuildTimeMonitor, MonitorReport};
