//! What a cross-account audit found: per account and region an audit, or the reason there is none
//! (the role could not be assumed, a call the audit needs was denied, the account is suspended),
//! a summary per account, and the totals the exit code comes from. A failure is its account's and
//! region's line, never the whole audit's.

use super::targets::Target;
use crate::audit::AuditReport;
use crate::error::{AwsError, AwsErrorKind};
use serde::Serialize;

/// One account and region.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Audited(AuditReport),
    /// No audit here: the sentence says why and what to do.
    Failed {
        error: String,
    },
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetAudit {
    #[serde(flatten)]
    pub target: Target,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One account over every region audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub account: String,
    pub name: String,
    pub regions: usize,
    /// Regions with an audit.
    pub audited: usize,
    pub projects: usize,
    pub needing_attention: usize,
    /// Regions without an audit (failed) plus projects whose audit is incomplete.
    pub errors: usize,
    /// The distinct reasons regions failed or were skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// The whole cross-account audit, in the targets' order.
#[derive(Debug, Clone, Serialize)]
pub struct OrgAudit {
    pub targets: Vec<TargetAudit>,
}

impl OrgAudit {
    /// One summary per account, in the order the accounts were first met.
    pub fn accounts(&self) -> Vec<AccountSummary> {
        let mut out: Vec<AccountSummary> = Vec::new();
        for t in &self.targets {
            let at = match out.iter().position(|s| s.account == t.target.account) {
                Some(at) => at,
                None => {
                    out.push(AccountSummary {
                        account: t.target.account.clone(),
                        name: t.target.name.clone(),
                        regions: 0,
                        audited: 0,
                        projects: 0,
                        needing_attention: 0,
                        errors: 0,
                        problems: vec![],
                    });
                    out.len() - 1
                }
            };
            let summary = &mut out[at];
            summary.regions += 1;
            let problem = match &t.outcome {
                Outcome::Audited(report) => {
                    summary.audited += 1;
                    summary.projects += report.projects.len();
                    summary.needing_attention += report.needing_attention();
                    summary.errors += report.errors();
                    None
                }
                Outcome::Failed { error } => {
                    summary.errors += 1;
                    Some(error)
                }
                Outcome::Skipped { reason } => Some(reason),
            };
            if let Some(problem) = problem
                && !summary.problems.contains(problem)
            {
                summary.problems.push(problem.clone());
            }
        }
        out
    }

    /// Projects someone should look at, over every account and region.
    pub fn needing_attention(&self) -> usize {
        self.reports().map(AuditReport::needing_attention).sum()
    }

    /// Regions without an audit because of an error, plus projects whose audit is incomplete.
    pub fn errors(&self) -> usize {
        let failed = self.targets.iter().filter(|t| matches!(t.outcome, Outcome::Failed { .. })).count();
        failed + self.reports().map(AuditReport::errors).sum::<usize>()
    }

    fn reports(&self) -> impl Iterator<Item = &AuditReport> {
        self.targets.iter().filter_map(|t| match &t.outcome {
            Outcome::Audited(report) => Some(report),
            _ => None,
        })
    }
}

/// Why an account could not be entered, and what usually fixes it. IAM answers AccessDenied alike
/// for a role that does not exist, a trust policy that does not name the caller and an SCP that
/// denies sts:AssumeRole, so all three are named.
pub fn assume_failed(role_arn: &str, caller: &str, error: &AwsError) -> String {
    match error.kind {
        AwsErrorKind::AccessDenied => format!(
            "cannot assume {role_arn} ({}: {}): the role does not exist there (deploy cache-sentinel to the account with AuditTrustedAccount={caller}, docs/org.md), does not trust account {caller}, or an SCP denies sts:AssumeRole",
            error.code, error.message
        ),
        _ => format!("cannot assume {role_arn}: {error}"),
    }
}

/// Why an entered account's audit stopped. A read denied to the audit role is the role's
/// permissions (an older stack's role) or a service control policy: both are named.
pub fn audit_failed(role_arn: Option<&str>, error: &AwsError, described: String) -> String {
    match (role_arn, error.kind) {
        (Some(role), AwsErrorKind::AccessDenied) => format!(
            "{described}. In this account that is {role}: its policy lacks {} (update the stack there) or a service control policy denies it",
            error.operation
        ),
        _ => described,
    }
}

/// Why the organisation's accounts could not be listed, and what to do instead.
pub fn listing_failed(error: &AwsError, described: String) -> String {
    let fix = "run it from the organisation's management account or a delegated administrator, or name the accounts with --accounts";
    match (error.code.as_str(), error.kind) {
        ("AWSOrganizationsNotInUseException", _) => {
            format!(
                "--organization: this account is not in an organisation ({}); name the accounts with --accounts",
                error.message
            )
        }
        (_, AwsErrorKind::AccessDenied) => format!(
            "--organization: {described}. Organizations ListAccounts answers only the management account and delegated administrators: {fix}"
        ),
        _ => format!("--organization: {described}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::BucketStatus;
    use crate::org::targets::Access;

    fn target(account: &str, region: &str) -> Target {
        Target {
            account: account.into(),
            name: format!("name-{account}"),
            region: region.into(),
            access: Access::Role(crate::org::role_arn(account, region)),
            skip: None,
        }
    }

    fn audited(account: &str, region: &str) -> TargetAudit {
        let report = AuditReport {
            region: region.into(),
            bucket: format!("codebuild-cache-{account}-{region}"),
            bucket_status: BucketStatus::Missing,
            projects: vec![],
            out_of_scope: vec!["x".into()],
            vanished: vec![],
            sweeps: None,
        };
        TargetAudit { target: target(account, region), outcome: Outcome::Audited(report) }
    }

    #[test]
    fn a_failed_region_is_its_accounts_error_and_the_others_stand() {
        let failed = "cannot assume arn:aws:iam::222222222222:role/cache-sentinel-audit (AccessDenied: ...)";
        let audit = OrgAudit {
            targets: vec![
                audited("111111111111", "eu-west-1"),
                TargetAudit {
                    target: target("222222222222", "eu-west-1"),
                    outcome: Outcome::Failed { error: failed.into() },
                },
                audited("111111111111", "us-east-1"),
                TargetAudit {
                    target: target("222222222222", "us-east-1"),
                    outcome: Outcome::Failed { error: failed.into() },
                },
            ],
        };
        let accounts = audit.accounts();
        assert_eq!(accounts.len(), 2);
        assert_eq!((accounts[0].regions, accounts[0].audited, accounts[0].errors), (2, 2, 0));
        assert!(accounts[0].problems.is_empty());
        assert_eq!((accounts[1].regions, accounts[1].audited, accounts[1].errors), (2, 0, 2));
        assert_eq!(accounts[1].problems, vec![failed.to_string()], "one reason, said once");
        assert_eq!(audit.errors(), 2);
        assert_eq!(audit.needing_attention(), 0);
        let json = serde_json::to_value(&audit).unwrap();
        assert_eq!(json["targets"][1]["outcome"], "failed");
        assert_eq!(json["targets"][0]["outcome"], "audited");
        assert_eq!(json["targets"][0]["bucket"], "codebuild-cache-111111111111-eu-west-1");
        assert_eq!(json["targets"][0]["account"], "111111111111");
    }

    #[test]
    fn a_denied_read_in_an_entered_account_names_the_role_and_scps_and_a_listing_names_who_may() {
        let denied = AwsError::new("codebuild:ListProjects", AwsErrorKind::AccessDenied, "AccessDeniedException", "no");
        let role = "arn:aws:iam::2:role/cache-sentinel-audit";
        let text = audit_failed(Some(role), &denied, "access denied: codebuild:ListProjects".into());
        assert!(
            text.contains(role)
                && text.contains("service control policy")
                && text.contains("lacks codebuild:ListProjects"),
            "{text}"
        );
        assert_eq!(audit_failed(None, &denied, "as said".into()), "as said", "the caller's own account: as any error");
        let throttled = AwsError::new("codebuild:ListProjects", AwsErrorKind::Throttled, "ThrottlingException", "slow");
        assert_eq!(audit_failed(Some(role), &throttled, "as said".into()), "as said");

        let listing =
            AwsError::new("organizations:ListAccounts", AwsErrorKind::AccessDenied, "AccessDeniedException", "no");
        let text = listing_failed(&listing, "access denied: organizations:ListAccounts".into());
        assert!(text.contains("management account") && text.contains("--accounts"), "{text}");
        let alone = AwsError::new(
            "organizations:ListAccounts",
            AwsErrorKind::Service,
            "AWSOrganizationsNotInUseException",
            "not in use",
        );
        assert!(listing_failed(&alone, String::new()).contains("not in an organisation"));
    }

    #[test]
    fn an_access_denied_assume_names_the_three_causes_and_the_fix() {
        let e =
            AwsError::new("sts:AssumeRole", AwsErrorKind::AccessDenied, "AccessDenied", "User: x is not authorized");
        let text = assume_failed("arn:aws:iam::2:role/cache-sentinel-audit", "123456789012", &e);
        for part in ["does not exist", "AuditTrustedAccount=123456789012", "does not trust", "SCP", "not authorized"] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
