//! STS adapter (feature `cli`): the caller's account, which names the
//! conventional cache bucket `codebuild-cache-<account>-<region>` when CACHE_BUCKET is unset. The
//! Lambdas take the account from their events instead and do not link this.

use crate::error::AwsError;
use aws_config::SdkConfig;

/// GetCallerIdentity: the account of the credentials in use (needs no IAM permission).
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, AwsError> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
    out.account().map(str::to_owned).ok_or_else(|| {
        AwsError::new(
            "sts:GetCallerIdentity",
            crate::error::AwsErrorKind::Service,
            "NoAccount",
            "the response names no account",
        )
    })
}
