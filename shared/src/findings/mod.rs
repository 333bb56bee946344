//! Findings in AWS Security Hub (issue 38): what cache-sentinel sees, where platform teams look,
//! aggregated across accounts and regions by Security Hub itself.
//!
//! Where each question is answered:
//! * what a finding says and how it is shaped (ASFF, its deterministic `Id`, archived when
//!   resolved): `asff`;
//! * which findings are open, and what an observation does to one (new, seen again after a day,
//!   archived when its cause is gone), from records in the cache bucket: `open`;
//! * what each function's run observes: `guard`, `monitor`, `pruner`; what an audit shows, for a
//!   hand import (`cache-sentinel audit --format asff`): `audit`;
//! * how findings reach Security Hub (BatchImportFindings by 100, retried within its rate, failed
//!   findings reported) and their records are kept: `sink`, over `crate::aws::securityhub`.

pub mod asff;
pub mod audit;
pub mod guard;
pub mod monitor;
pub mod open;
pub mod pruner;
pub mod sink;

pub use asff::{Finding, Kind, Place, Subject, finding_id, to_asff};
