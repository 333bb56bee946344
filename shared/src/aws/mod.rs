//! AWS adapters (CodeBuild, S3, SNS, CloudWatch Logs): clients built once from the standard configuration chain, and thin wrappers
//! that translate between the SDK and the library's plain data and typed errors.

pub mod cache_listing;
pub mod codebuild;
pub mod iam;
pub mod logs;
pub mod s3;
pub mod s3_conditional;
pub mod s3_documents;
pub mod s3_objects;
pub mod s3_records;
#[cfg(feature = "cli")]
pub mod session;
pub mod sns;
#[cfg(feature = "cli")]
pub mod sts;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// The region assumed when the configuration chain names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// AWS clients, built once per cold start and shared by every invocation.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sdk: SdkConfig,
    pub codebuild: aws_sdk_codebuild::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
}

impl Clients {
    /// Loads the standard chain (environment, profile, container/instance credentials); honours
    /// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` for emulators.
    pub async fn from_env() -> Self {
        Self::from_sdk_config(load_sdk_config().await)
    }

    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        Clients {
            codebuild: aws_sdk_codebuild::Client::new(&sdk),
            s3: s3_client(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sdk,
        }
    }

    /// The region the clients talk to.
    pub fn region(&self) -> Option<&str> {
        self.sdk.region().map(|r| r.as_ref())
    }

    /// The region, or the SDK's own fallback when none is configured (Lambda always sets one).
    pub fn region_or_default(&self) -> &str {
        self.region().unwrap_or(DEFAULT_REGION)
    }
}

/// The shared SDK configuration: standard retries with backoff and jitter, a few more attempts than
/// the default because a throttled sweep is better slow than failed.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).retry_config(retry_config()).load().await
}

/// Standard retry mode (exponential backoff with jitter, retries throttling and transient errors).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// An S3 client. Emulators answer on one host name, so an endpoint override switches to
/// path-style addressing (`S3_FORCE_PATH_STYLE=true|false` decides explicitly).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let endpoint_overridden = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let path_style = match std::env::var("S3_FORCE_PATH_STYLE").ok().as_deref() {
        Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        _ => endpoint_overridden,
    };
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(path_style).build();
    aws_sdk_s3::Client::from_conf(config)
}
