//! The weekly digest: one email a week with what slow builds cost, where each project's cache
//! stands and what to do, and what the pruner freed (issue 37). Pure: it is decided from plain data
//! gathered elsewhere (the judged builds of `recent_builds`, the cache standing the audit shows,
//! the pruner's report).
//!
//! Where each question is answered:
//! * what the week was, per project and in all, and which projects are worst: `week`;
//! * where a project's cache stands (effective, not and why, off S3 and why): `standing`;
//! * how it reads in an email (plain text within SNS's limits): `render`;
//! * what it is read from, in account-wide listings (effects): `gather`; when it is asked for and
//!   which window: `crate::event::digest_request`; sent once a window: `crate::monitor::digest`.

pub mod gather;
pub mod render;
pub mod standing;
pub mod week;

pub use week::{CacheLine, Digest, ProjectLine, ProjectWeek, digest};
