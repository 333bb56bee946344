//! Whole organisations: the cross-account audit's plan and its result, as plain data.
//!
//! - Which accounts and regions an audit covers, which role it assumes in each (the stack's
//!   `cache-sentinel-audit`), and which account is the caller's own: `targets.rs`.
//! - What came back per account and region (an audit, or the reason there is none), the summary
//!   per account and the totals the exit code comes from: `outcome.rs`.
//!
//! The AWS side (Organizations ListAccounts, STS AssumeRole) is in `aws::organizations` and
//! `aws::session`; the command that runs it is the CLI's `audit --accounts/--organization`.

pub mod outcome;
pub mod targets;

pub use outcome::{AccountSummary, OrgAudit, Outcome, TargetAudit};
pub use targets::{AUDIT_ROLE, Access, Target, TargetError, partition_of, role_arn};
