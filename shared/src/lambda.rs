//! The Lambda side of the library's errors (feature `lambda`): an invocation error becomes a
//! [`Diagnostic`] with a named type, so the Lambda console, CloudWatch and the dead-letter queue show
//! `CacheGuard.ProjectsFailed` with the cause, not a Rust type path.

use crate::guard::service::GuardError;
use crate::monitor::service::MonitorError;
use crate::pruner::service::PruneError;
use lambda_runtime::Diagnostic;

fn diagnostic(error_type: &str, error: &dyn std::error::Error) -> Diagnostic {
    Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
}

impl From<GuardError> for Diagnostic {
    fn from(error: GuardError) -> Self {
        diagnostic(error.error_type(), &error)
    }
}

impl From<PruneError> for Diagnostic {
    fn from(error: PruneError) -> Self {
        diagnostic(error.error_type(), &error)
    }
}

impl From<MonitorError> for Diagnostic {
    fn from(error: MonitorError) -> Self {
        diagnostic(error.error_type(), &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventError;

    #[test]
    fn errors_carry_their_named_type_and_cause() {
        let d = Diagnostic::from(GuardError::ProjectsFailed { failed: 1, total: 3, first: "p: denied".into() });
        assert_eq!(d.error_type, "CacheGuard.ProjectsFailed");
        assert!(d.error_message.contains("1 of 3 projects"), "{}", d.error_message);
        let d = Diagnostic::from(PruneError::UnknownAccount);
        assert_eq!(d.error_type, "CachePruner.UnknownAccount");
        let d = Diagnostic::from(MonitorError::Event(EventError::NotAnObject("array")));
        assert_eq!(d.error_type, "BuildTimeMonitor.InvalidEvent");
    }
}
