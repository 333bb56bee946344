//! AWS Organizations (feature `cli`): the organisation's accounts, for `audit --organization`.
//! Only the management account or a delegated administrator may list them (else
//! AWSOrganizationsNotInUseException or AccessDeniedException, reported as such).

use crate::error::AwsError;
use aws_config::SdkConfig;

/// One account of the organisation, as ListAccounts describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE.
    pub status: String,
}

impl OrgAccount {
    /// Only an active account can be audited: a suspended or closing one refuses sign-ins.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// ListAccounts, every page (at most 20 accounts a page; the SDK's paginator follows NextToken).
/// Organizations' API lives in us-east-1 (aws-cn: cn-northwest-1, aws-us-gov: us-gov-west-1),
/// which the SDK's endpoint resolution handles from any configured region.
pub async fn list_accounts(sdk: &SdkConfig) -> Result<Vec<OrgAccount>, AwsError> {
    let client = aws_sdk_organizations::Client::new(sdk);
    let mut pages = client.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("organizations:ListAccounts", e))?;
        for account in page.accounts() {
            let Some(id) = account.id() else { continue };
            accounts.push(OrgAccount {
                id: id.to_owned(),
                name: account.name().unwrap_or_default().to_owned(),
                status: account
                    .state()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| account.status().map(|s| s.as_str().to_owned()))
                    .unwrap_or_else(|| "ACTIVE".into()),
            });
        }
    }
    Ok(accounts)
}
