//! Why a command could not do its work, in words that name the cause and what to do, and the
//! exit codes.

use cache_sentinel::audit::AuditError;
use cache_sentinel::aws::session::SessionError;
use cache_sentinel::config::ConfigError;
use cache_sentinel::error::{AwsError, AwsErrorKind};
use cache_sentinel::guard::service::GuardError;
use cache_sentinel::pruner::service::PruneError;

/// Nothing needs attention.
pub const EXIT_OK: u8 = 0;
/// Something needs attention (projects to heal, builds over their range, objects to prune).
pub const EXIT_ATTENTION: u8 = 1;
/// An error stopped the command or left its answer incomplete.
pub const EXIT_ERROR: u8 = 2;
/// Interrupted by Ctrl-C (128 + SIGINT), the resume state saved.
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{error}{}", .flag.map(|f| format!(" (set by {f})")).unwrap_or_default())]
    Config { error: ConfigError, flag: Option<&'static str> },
    #[error("--set {0:?}: expected VARIABLE=VALUE, for example --set PRUNE_KEEP_NEWEST=5")]
    MalformedSet(String),
    #[error("--set {name}: not a variable cache-sentinel reads; known: {known}")]
    UnknownVariable { name: String, known: String },
    #[error("--now {0:?} is not an RFC 3339 time like 2026-11-20T09:00:00Z")]
    InvalidNow(String),
    #[error(
        "--now cannot be used with {0}: it moves the minimum age, the orphans' grace and the lease's expiry off the real clock (a lease dated by it could block every run); use it for plans only"
    )]
    NowWithApply(&'static str),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("{}", describe_aws(.0))]
    Aws(AwsError),
    #[error(
        "cannot name the cache bucket codebuild-cache-<account>-<region> without the account; set CACHE_BUCKET or --bucket"
    )]
    UnknownBucket,
    #[error("the guard stopped: {0}")]
    Guard(String),
    #[error("the pruner stopped: {0}")]
    Pruner(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error(
        "--format asff needs the AWS account (the findings' product and resource ARNs name it), and STS did not say it"
    )]
    UnknownAccount,
    #[error("{0}")]
    Organization(String),
    #[error("{0}")]
    Targets(#[from] cache_sentinel::org::TargetError),
    #[error(
        "--format asff is for one account (a finding's AwsAccountId must be the importing account); run it per account, or let each account's stack import with SecurityHubFindings=true"
    )]
    AsffAcrossAccounts,
}

impl From<AwsError> for CliError {
    fn from(e: AwsError) -> Self {
        CliError::Aws(e)
    }
}

impl From<AuditError> for CliError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::UnknownBucket => CliError::UnknownBucket,
            AuditError::Aws(e) => CliError::Aws(e),
        }
    }
}

impl From<GuardError> for CliError {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Listing(e) => CliError::Aws(e),
            GuardError::UnknownAccount => CliError::UnknownBucket,
            other => CliError::Guard(other.to_string()),
        }
    }
}

impl From<PruneError> for CliError {
    fn from(e: PruneError) -> Self {
        match e {
            // The call and its cause, as for any AWS error.
            PruneError::Discovery(e) | PruneError::Lease(e) => CliError::Aws(e),
            PruneError::UnknownAccount => CliError::UnknownBucket,
            PruneError::DeadlineMargin { margin_s, remaining_s } => CliError::Pruner(format!(
                "PRUNE_DEADLINE_MARGIN_SECONDS ({margin_s} s) leaves no time within --max-minutes ({remaining_s} s); raise --max-minutes or lower the margin"
            )),
            other => CliError::Pruner(other.to_string()),
        }
    }
}

/// An AWS failure as a person needs it: which call, why, and what usually fixes it.
pub fn describe_aws(e: &AwsError) -> String {
    let call = e.operation;
    match e.kind {
        AwsErrorKind::AccessDenied => format!(
            "access denied: {call} ({}: {}). The credentials in use need IAM permission for {call}",
            e.code, e.message
        ),
        AwsErrorKind::Unreachable if looks_like_dns(&e.message) => format!(
            "cannot reach AWS for {call}: the endpoint's host name does not resolve ({}). Is the region name right (no such region?), or AWS_ENDPOINT_URL?",
            e.message
        ),
        AwsErrorKind::Unreachable => {
            format!("cannot reach AWS for {call}: {}. Check the network, the region and AWS_ENDPOINT_URL", e.message)
        }
        AwsErrorKind::Throttled => {
            format!("{call} was throttled by AWS after the SDK's retries ({}: {}); try again later", e.code, e.message)
        }
        _ => format!("{call} failed: {}: {}", e.code, e.message),
    }
}

fn looks_like_dns(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("dns error") || m.contains("failed to lookup address") || m.contains("name or service not known")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(kind: AwsErrorKind, message: &str) -> AwsError {
        AwsError::new("codebuild:ListProjects", kind, "AccessDeniedException", message)
    }

    #[test]
    fn aws_errors_name_the_call_and_the_cause() {
        let text = describe_aws(&aws(AwsErrorKind::AccessDenied, "User x is not authorized"));
        assert!(text.starts_with("access denied: codebuild:ListProjects"), "{text}");
        assert!(text.contains("not authorized"), "{text}");
        let text = describe_aws(&aws(
            AwsErrorKind::Unreachable,
            "io error: dns error: failed to lookup address information: Name or service not known",
        ));
        assert!(text.contains("no such region?"), "{text}");
        let text = describe_aws(&aws(AwsErrorKind::Unreachable, "connection refused"));
        assert!(text.contains("AWS_ENDPOINT_URL") && !text.contains("no such region"), "{text}");
    }

    #[test]
    fn config_errors_say_which_flag_set_the_variable() {
        let error = ConfigError::new("CACHE_BUCKET", "\"Bad\" is not a valid S3 bucket name");
        let text = CliError::Config { error, flag: Some("--bucket") }.to_string();
        assert!(text.contains("CACHE_BUCKET") && text.ends_with("(set by --bucket)"), "{text}");
    }
}
