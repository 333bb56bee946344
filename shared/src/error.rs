//! Typed errors of the library. AWS failures keep the operation that failed and AWS's own cause.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt;

/// What kind of AWS failure happened, so callers can decide between skip, report and retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsErrorKind {
    AccessDenied,
    Throttled,
    NotFound,
    InvalidInput,
    /// The request never got an answer (DNS, TLS, timeout, connection refused).
    Unreachable,
    /// S3's HTTP 301 (`PermanentRedirect`): the bucket lives in another region than the client's;
    /// `AwsError::bucket_region` names it when S3 did (`x-amz-bucket-region`). Permanent: the same
    /// request to the same endpoint is answered the same way.
    WrongRegion,
    Service,
}

impl fmt::Display for AwsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AwsErrorKind::AccessDenied => "access denied (missing IAM permission?)",
            AwsErrorKind::Throttled => "throttled by AWS (retries exhausted)",
            AwsErrorKind::NotFound => "not found",
            AwsErrorKind::InvalidInput => "rejected as invalid",
            AwsErrorKind::Unreachable => "AWS endpoint unreachable",
            AwsErrorKind::WrongRegion => "the bucket is in another region",
            AwsErrorKind::Service => "AWS service error",
        })
    }
}

/// One failed AWS call: which operation, what kind, AWS's error code and message.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[error("{operation} failed: {kind}: {code}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub kind: AwsErrorKind,
    pub code: String,
    pub message: String,
    /// The region S3 says the bucket is in (the `x-amz-bucket-region` of a 301).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_region: Option<String>,
}

impl AwsError {
    /// Classifies an SDK error by its AWS error code (or the transport failure when there is none).
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let raw = match &err {
            SdkError::ServiceError(ctx) => Some(ctx.raw()),
            SdkError::ResponseError(ctx) => Some(ctx.raw()),
            _ => None,
        };
        let raw_status = raw.map(|r| r.status().as_u16());
        let bucket_region = raw.and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_owned);
        let code = err.code().map(str::to_owned);
        let kind = match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsErrorKind::Unreachable,
            _ => classify(code.as_deref(), raw_status),
        };
        let message = match (kind, &bucket_region) {
            (AwsErrorKind::WrongRegion, Some(region)) => format!(
                "the bucket is in {region}; S3 answers for it only at {region}'s endpoint (HTTP 301, x-amz-bucket-region: {region})"
            ),
            (AwsErrorKind::WrongRegion, None) => {
                "the bucket is in another region than this client's; S3 answered HTTP 301 without naming it".into()
            }
            _ => err.message().map(str::to_owned).unwrap_or_else(|| error_chain(&err)),
        };
        AwsError {
            operation,
            kind,
            code: code.unwrap_or_else(|| raw_status.map_or_else(|| "NoErrorCode".into(), |s| format!("HTTP{s}"))),
            message,
            bucket_region: bucket_region.filter(|_| kind == AwsErrorKind::WrongRegion),
        }
    }

    /// An error of our own making (a request that could not be built, a body that could not be read).
    pub fn new(
        operation: &'static str,
        kind: AwsErrorKind,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AwsError { operation, kind, code: code.into(), message: message.into(), bucket_region: None }
    }

    /// Whether retrying later may succeed: throttling, 5xx, no answer. Everything else (AccessDenied
    /// from an SCP or boundary, InvalidInput, NotFound, a bucket in another region) is permanent.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, AwsErrorKind::Throttled | AwsErrorKind::Unreachable | AwsErrorKind::Service)
    }

    /// The bucket is in another region than the client's: Some(its region, when S3 named it).
    pub fn other_region(&self) -> Option<Option<&str>> {
        self.is(AwsErrorKind::WrongRegion).then_some(self.bucket_region.as_deref())
    }

    pub fn is(&self, kind: AwsErrorKind) -> bool {
        self.kind == kind
    }
}

fn classify(code: Option<&str>, status: Option<u16>) -> AwsErrorKind {
    match code.unwrap_or("") {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "UnrecognizedClientException"
        | "Forbidden" => AwsErrorKind::AccessDenied,
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "SlowDown"
        | "Throttled"
        | "AccountLimitExceededException" => AwsErrorKind::Throttled,
        "ResourceNotFoundException" | "NoSuchBucket" | "NoSuchKey" | "NotFound" | "NotFoundException" => {
            AwsErrorKind::NotFound
        }
        // S3's answer for a bucket asked at another region's endpoint (a HEAD's 301 has no code).
        "PermanentRedirect" => AwsErrorKind::WrongRegion,
        "InvalidInputException"
        | "ValidationException"
        | "InvalidParameter"
        | "InvalidParameterException"
        | "InvalidArgument"
        | "InvalidRequest"
        | "MalformedXML" => AwsErrorKind::InvalidInput,
        _ => match status {
            Some(301) => AwsErrorKind::WrongRegion,
            Some(403) => AwsErrorKind::AccessDenied,
            Some(404) => AwsErrorKind::NotFound,
            Some(429) | Some(503) => AwsErrorKind::Throttled,
            Some(400) => AwsErrorKind::InvalidInput,
            _ => AwsErrorKind::Service,
        },
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(classify(Some("AccessDeniedException"), Some(400)), AwsErrorKind::AccessDenied);
        assert_eq!(classify(Some("ThrottlingException"), Some(400)), AwsErrorKind::Throttled);
        assert_eq!(classify(Some("SlowDown"), Some(503)), AwsErrorKind::Throttled);
        assert_eq!(classify(Some("InvalidInputException"), Some(400)), AwsErrorKind::InvalidInput);
        assert_eq!(classify(None, Some(404)), AwsErrorKind::NotFound);
        assert_eq!(classify(None, Some(403)), AwsErrorKind::AccessDenied);
        assert_eq!(classify(Some("InternalFailure"), Some(500)), AwsErrorKind::Service);
        assert_eq!(classify(None, Some(301)), AwsErrorKind::WrongRegion, "HeadBucket's 301 has no body");
        assert_eq!(classify(Some("PermanentRedirect"), Some(301)), AwsErrorKind::WrongRegion);
        assert_eq!(classify(Some("SlowDown"), Some(301)), AwsErrorKind::Throttled, "the code decides first");
    }
}
