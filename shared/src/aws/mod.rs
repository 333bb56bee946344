//! AWS adapters (CodeBuild, S3, SNS, CloudWatch Logs, Security Hub): clients built once from the standard configuration chain, and thin wrappers
//! that translate between the SDK and the library's plain data and typed errors.
//!
//! The calls each function makes and the permissions they need: docs/deploy.md; the emulator
//! they are tested against: docs/testing.md.

pub mod attempts;
pub mod cache_listing;
pub mod codebuild;
pub mod iam;
pub mod logs;
#[cfg(feature = "cli")]
pub mod organizations;
pub mod s3;
pub mod s3_conditional;
pub mod s3_documents;
pub mod s3_objects;
pub mod s3_records;
pub mod securityhub;
#[cfg(feature = "cli")]
pub mod session;
pub mod sns;
#[cfg(feature = "cli")]
pub mod sts;

use crate::config::{ConfigError, Env, ProcessEnv, s3_force_path_style};
use attempts::AttemptCounter;
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
    /// SDK calls, attempts and failures per operation of every client above.
    pub attempts: AttemptCounter,
}

impl Clients {
    /// Loads the standard chain (environment, profile, container/instance credentials); honours
    /// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` for emulators. The functions check
    /// `S3_FORCE_PATH_STYLE` at cold start with their configuration ([`CommonConfig`]), before this;
    /// an invalid value here is reported and the default (path style with an endpoint override) used.
    ///
    /// [`CommonConfig`]: crate::config::CommonConfig
    pub async fn from_env() -> Self {
        let sdk = load_sdk_config().await;
        match Self::try_from_sdk_config(sdk.clone(), &ProcessEnv) {
            Ok(clients) => clients,
            Err(e) => {
                tracing::error!(action = "cold-start", error = %e, "ignoring the invalid value");
                Self::build(sdk, None)
            }
        }
    }

    /// Clients for this SDK configuration, with `S3_FORCE_PATH_STYLE` from `env`.
    pub fn try_from_sdk_config(sdk: SdkConfig, env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self::build(sdk, s3_force_path_style(env)?))
    }

    /// Clients for this SDK configuration (S3 path style decided by the endpoint override alone).
    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        Self::build(sdk, None)
    }

    fn build(sdk: SdkConfig, force_path_style: Option<bool>) -> Self {
        let attempts = AttemptCounter::new();
        Clients {
            codebuild: aws_sdk_codebuild::Client::from_conf(
                aws_sdk_codebuild::config::Builder::from(&sdk)
                    .interceptor(attempts.interceptor())
                    .retry_partition(retry_partition("codebuild"))
                    .build(),
            ),
            s3: s3_client(&sdk, force_path_style, &attempts),
            sns: aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(&sdk)
                    .interceptor(attempts.interceptor())
                    .retry_partition(retry_partition("sns"))
                    .build(),
            ),
            attempts,
            sdk,
        }
    }

    /// An IAM client like the others (counted, with the same retry quota); the guard builds it once.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&self.sdk)
                .interceptor(self.attempts.interceptor())
                .retry_partition(retry_partition("iam"))
                .build(),
        )
    }

    /// A CloudWatch Logs client like the others; the monitor builds it once.
    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(&self.sdk)
                .interceptor(self.attempts.interceptor())
                .retry_partition(retry_partition("logs"))
                .build(),
        )
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

/// The shared SDK configuration with the region set (a cross-region audit, tests of S3's regions).
pub async fn load_sdk_config_in(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await
}

/// Standard retry mode (exponential backoff with jitter, retries throttling and transient errors).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// Retry quota per service client: tokens a retry spends (5 after throttling, 14 after another
/// transient error; successes give some back). The SDK's default of 500 is spent after 100
/// throttled retries, and from then on every throttled call fails at once: one throttled stretch
/// fails a whole 1,000-project sweep, and its retry fails the same way. Ten times that lets backoff
/// absorb it, while 5 attempts per call and the function's timeout still bound the work.
pub const RETRY_QUOTA: usize = 5_000;

fn retry_partition(service: &'static str) -> aws_sdk_s3::config::retry::RetryPartition {
    use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
    RetryPartition::custom(format!("cache-sentinel-{service}")).token_bucket(TokenBucket::new(RETRY_QUOTA)).build()
}

/// An S3 client. Emulators answer on one host name, so an endpoint override switches to
/// path-style addressing unless `force_path_style` (`S3_FORCE_PATH_STYLE`) decides explicitly.
pub fn s3_client(sdk: &SdkConfig, force_path_style: Option<bool>, attempts: &AttemptCounter) -> aws_sdk_s3::Client {
    let endpoint_overridden = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(force_path_style.unwrap_or(endpoint_overridden))
        .interceptor(attempts.interceptor())
        .retry_partition(retry_partition("s3"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
