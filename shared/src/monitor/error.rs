//! Why an invocation of the monitor failed as a whole.

use super::facts::FactsError;
use crate::error::AwsError;
use crate::event::EventError;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error("invalid event: {0}")]
    Facts(#[from] FactsError),
    #[error(
        "cannot tell how long build {build} of {project} took: the event has no build-start-time or phase end times, and BatchGetBuilds did not return the build{detail}"
    )]
    NoDuration { project: String, build: String, detail: String },
    #[error("cannot list builds for the sweep: {0}")]
    Listing(AwsError),
    #[error("AWS failed transiently while reading build {build} ({error}); the invocation fails so that it is retried")]
    Transient { build: String, error: Box<AwsError> },
    #[error(
        "could not publish the notice for {build} ({kind}); its once-only marker was released so a retry can send it: {error}"
    )]
    Publish { build: String, kind: &'static str, error: Box<AwsError> },
    #[error("AWS failed transiently while gathering the digest ({0}); the invocation fails so that it is retried")]
    Digest(Box<AwsError>),
    #[error("findings could not be imported into Security Hub (transient, retried): {0}")]
    Findings(Box<AwsError>),
}

impl MonitorError {
    /// The error's name as Lambda reports it (`errorType`), so logs and alarms show the cause.
    pub fn error_type(&self) -> &'static str {
        match self {
            MonitorError::Event(_) | MonitorError::Facts(_) => "BuildTimeMonitor.InvalidEvent",
            MonitorError::NoDuration { .. } => "BuildTimeMonitor.NoDuration",
            MonitorError::Listing(_) => "BuildTimeMonitor.ListingFailed",
            MonitorError::Transient { .. } => "BuildTimeMonitor.AwsTransient",
            MonitorError::Publish { .. } => "BuildTimeMonitor.PublishFailed",
            MonitorError::Digest(_) => "BuildTimeMonitor.DigestFailed",
            MonitorError::Findings(_) => "BuildTimeMonitor.FindingsFailed",
        }
    }
}

/// Throttling, 5xx and unreachable endpoints (after the SDK's own retries) are worth retrying the
/// invocation for; refusals (denied, not found, invalid) are not.
pub fn is_transient(error: &AwsError) -> bool {
    error.is_transient()
}
