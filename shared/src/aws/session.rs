//! A session for the command-line tool: the standard configuration chain (environment, shared
//! config and credentials files, SSO, credential_process, container and instance credentials) with
//! an optional named profile and region on top, and the credentials resolved up front so that a
//! missing or broken credential source is reported before any call, naming the cause; and a
//! session in another account through a role (the cross-account audit).

use super::retry_config;
use crate::error::{AwsError, AwsErrorKind};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_codebuild::config::ProvideCredentials;

/// What the person asked for on the command line (None = whatever the chain finds).
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// Why no session could be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(
        "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile{}",
        profile_note(.profile)
    )]
    NoRegion { profile: Option<String> },
    #[error("{region:?} is not an AWS region name (like eu-west-1 or ap-south-1)")]
    InvalidRegion { region: String },
    #[error(
        "no AWS credentials{}: {cause}. Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws sso login{}`, or pass --profile",
        profile_note(.profile),
        .profile.as_deref().map(|p| format!(" --profile {p}")).unwrap_or_default()
    )]
    NoCredentials { profile: Option<String>, cause: String },
}

fn profile_note(profile: &Option<String>) -> String {
    profile.as_deref().map(|p| format!(" (profile {p})")).unwrap_or_default()
}

/// A region name as AWS spells them: letters, a dash, words, a dash and a number
/// (us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5).
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// Loads the chain with the options on top and resolves the credentials once.
pub async fn load(options: &SessionOptions) -> Result<SdkConfig, SessionError> {
    if let Some(region) = options.region.as_deref().filter(|r| !is_region_name(r)) {
        return Err(SessionError::InvalidRegion { region: region.to_owned() });
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry_config());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    match sdk.region().map(|r| r.as_ref().to_owned()) {
        None => return Err(SessionError::NoRegion { profile: options.profile.clone() }),
        Some(region) if !is_region_name(&region) => return Err(SessionError::InvalidRegion { region }),
        Some(_) => {}
    }
    let no_credentials = |cause: String| SessionError::NoCredentials { profile: options.profile.clone(), cause };
    let provider =
        sdk.credentials_provider().ok_or_else(|| no_credentials("no credential source configured".into()))?;
    provider.provide_credentials().await.map_err(|e| no_credentials(error_chain(&e)))?;
    Ok(sdk)
}

/// A session in another account: STS AssumeRole of `role_arn` with the base session's
/// credentials, in `region`. The credentials last an hour (AssumeRole's default), far longer than
/// an audit, and are not refreshed. AccessDenied here means the role is missing, does not trust the
/// caller, or an SCP denies it; IAM does not say which.
pub async fn assume(base: &SdkConfig, role_arn: &str, region: &str) -> Result<SdkConfig, AwsError> {
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("cache-sentinel-audit")
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts:AssumeRole", e))?;
    let Some(c) = out.credentials else {
        return Err(AwsError::new(
            "sts:AssumeRole",
            AwsErrorKind::Service,
            "NoCredentials",
            "the answer holds no credentials",
        ));
    };
    let expiry = std::time::SystemTime::try_from(c.expiration).ok();
    let credentials =
        Credentials::new(c.access_key_id, c.secret_access_key, Some(c.session_token), expiry, "sts:AssumeRole");
    Ok(base
        .to_builder()
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// The base session in another region (the caller's own account, no role assumed).
pub fn in_region(base: &SdkConfig, region: &str) -> SdkConfig {
    base.to_builder().region(Region::new(region.to_owned())).build()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "ap-south-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1", "il-central-1"] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in ["mumbai", "us-east", "US-EAST-1", "us-east-1a", "", "us--1", "eu-west-x"] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_cause_and_the_fix() {
        let e = SessionError::NoCredentials { profile: Some("dev".into()), cause: "the SSO token expired".into() };
        let text = e.to_string();
        assert!(text.contains("profile dev") && text.contains("SSO token expired"), "{text}");
        assert!(text.contains("aws sso login --profile dev"), "{text}");
        let text = SessionError::NoRegion { profile: None }.to_string();
        assert!(text.contains("--region") && text.contains("AWS_REGION"), "{text}");
    }
}
