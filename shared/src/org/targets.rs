//! The accounts and regions a cross-account audit covers: each account in each region, through
//! the read-only role the stack creates there (`cache-sentinel-audit`), except the caller's own
//! account, which is read with the caller's own credentials (StackSets with service-managed
//! permissions never deploy to the management account, so the role is usually absent there).

use serde::Serialize;

/// The role the stack creates in every account for the cross-account audit (template.yaml,
/// `AuditRole`); the CLI assumes it.
pub const AUDIT_ROLE: &str = "cache-sentinel-audit";

/// The partition of a region: `aws-cn` for cn-*, `aws-us-gov` for us-gov-*, else `aws`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The audit role's ARN in an account (IAM is global: one role serves every region).
pub fn role_arn(account: &str, region: &str) -> String {
    format!("arn:{}:iam::{account}:role/{AUDIT_ROLE}", partition_of(region))
}

/// How an account is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "via", content = "role")]
pub enum Access {
    /// The caller's own account: the caller's credentials.
    Caller,
    /// Another account: this role, assumed.
    Role(String),
}

/// One account in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub account: String,
    /// The account's name in the organisation (empty with --accounts).
    pub name: String,
    pub region: String,
    #[serde(flatten)]
    pub access: Access,
    /// Why the account is not audited (an organisation account that is not ACTIVE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
}

/// A command line that names no auditable set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{0:?} is not an AWS account id (12 digits)")]
    BadAccount(String),
    #[error("no accounts to audit: pass --accounts 111111111111,222222222222 or --organization")]
    NoAccounts,
    #[error("no regions to audit: pass --regions eu-west-1,us-east-1 (or --region)")]
    NoRegions,
}

/// An account to audit: its id, its name and status (from Organizations; `ACTIVE` and no name
/// for accounts named on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub id: String,
    pub name: String,
    pub status: String,
}

impl AccountRef {
    pub fn named(id: &str) -> Self {
        AccountRef { id: id.to_owned(), name: String::new(), status: "ACTIVE".into() }
    }
}

/// `--accounts 111111111111,222222222222` (repeatable, commas or spaces): 12-digit ids, each once,
/// in the order given.
pub fn parse_accounts(raw: &[String]) -> Result<Vec<AccountRef>, TargetError> {
    let mut accounts: Vec<AccountRef> = Vec::new();
    for id in raw.iter().flat_map(|r| r.split([',', ' '])).map(str::trim).filter(|s| !s.is_empty()) {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TargetError::BadAccount(id.to_owned()));
        }
        if !accounts.iter().any(|a| a.id == id) {
            accounts.push(AccountRef::named(id));
        }
    }
    if accounts.is_empty() { Err(TargetError::NoAccounts) } else { Ok(accounts) }
}

/// Every account in every region, accounts in the order given, regions in the order given (each
/// once); the caller's own account through its own credentials, the others through the audit
/// role. An account that is not ACTIVE is listed with the reason it is skipped.
pub fn targets(accounts: &[AccountRef], regions: &[String], caller: &str) -> Result<Vec<Target>, TargetError> {
    if accounts.is_empty() {
        return Err(TargetError::NoAccounts);
    }
    let mut unique: Vec<&String> = Vec::new();
    for region in regions {
        if !unique.contains(&region) {
            unique.push(region);
        }
    }
    if unique.is_empty() {
        return Err(TargetError::NoRegions);
    }
    let mut out = Vec::new();
    for account in accounts {
        for region in &unique {
            let access =
                if account.id == caller { Access::Caller } else { Access::Role(role_arn(&account.id, region)) };
            let skip = (account.status != "ACTIVE").then(|| format!("not audited: the account is {}", account.status));
            out.push(Target {
                account: account.id.clone(),
                name: account.name.clone(),
                region: (*region).clone(),
                access,
                skip,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_twelve_digits_each_once_in_order() {
        let got = parse_accounts(&["222222222222,111111111111".into(), "222222222222 333333333333".into()]).unwrap();
        let ids: Vec<&str> = got.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["222222222222", "111111111111", "333333333333"]);
        assert_eq!(parse_accounts(&["12345".into()]), Err(TargetError::BadAccount("12345".into())));
        assert_eq!(parse_accounts(&["12345678901a".into()]), Err(TargetError::BadAccount("12345678901a".into())));
        assert_eq!(parse_accounts(&[" , ".into()]), Err(TargetError::NoAccounts));
    }

    #[test]
    fn the_callers_account_uses_its_own_credentials_and_others_the_role_of_their_partition() {
        let accounts = [AccountRef::named("111111111111"), AccountRef::named("222222222222")];
        let regions = vec!["eu-west-1".to_string(), "cn-north-1".into(), "eu-west-1".into()];
        let got = targets(&accounts, &regions, "111111111111").unwrap();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].access, Access::Caller);
        assert_eq!((got[0].region.as_str(), got[1].region.as_str()), ("eu-west-1", "cn-north-1"));
        assert_eq!(got[2].access, Access::Role("arn:aws:iam::222222222222:role/cache-sentinel-audit".into()));
        assert_eq!(got[3].access, Access::Role("arn:aws-cn:iam::222222222222:role/cache-sentinel-audit".into()));
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(targets(&accounts, &[], "1"), Err(TargetError::NoRegions));
        assert_eq!(targets(&[], &regions, "1"), Err(TargetError::NoAccounts));
    }

    #[test]
    fn an_account_that_is_not_active_is_listed_as_skipped() {
        let suspended = AccountRef { id: "333333333333".into(), name: "old".into(), status: "SUSPENDED".into() };
        let got = targets(&[suspended], &["eu-west-1".into()], "111111111111").unwrap();
        assert_eq!(got[0].skip.as_deref(), Some("not audited: the account is SUSPENDED"));
        assert_eq!(got[0].name, "old");
    }
}
