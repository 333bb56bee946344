//! Whether other accounts may use the cache bucket, read from its bucket policy (GetBucketPolicy).
//!
//! A deployment sees only its own account's projects. In a bucket other accounts write to, a
//! location this deployment stopped using may be one another account's projects still use (two
//! accounts with the same project name and prefix, say), so orphaning it is a guess: the sweep then
//! deletes orphans only with `PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET=true`, and its report says that
//! other accounts' projects are invisible to it. A policy it cannot read is treated as shared: the
//! safe side of not knowing is keeping a cache, never deleting one.
//!
//! Only `Allow` statements share a bucket (a `Deny`, like the template's own, takes rights away).
//! Their principals, as IAM documents them: `"*"`, `{"AWS": ...}` with account ids or IAM/STS ARNs
//! (the account is the ARN's fifth field), `CanonicalUser` and `Federated` (another account's, as
//! far as this deployment can tell); `NotPrincipal` allows everyone but those it names. `Service`
//! principals are AWS services (log delivery, replication), not other accounts' builds.

use serde_json::Value;
use std::collections::BTreeSet;

/// What the bucket policy says about who else may use the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharing {
    /// No policy, or none of its `Allow` statements names a principal outside this account.
    Private,
    /// `Allow` statements name principals outside this account: their accounts, or a description.
    Shared { grantees: Vec<String> },
    /// The policy could not be read or understood: why.
    Unknown { why: String },
}

impl Sharing {
    /// Whether orphans may be deleted: only in a bucket known to be this account's alone, unless
    /// the operator opted in.
    pub fn allows_orphan_deletion(&self, opted_in: bool) -> bool {
        opted_in || *self == Sharing::Private
    }

    /// The report's note, None for a private bucket.
    pub fn note(&self, deployment: &str, delete_orphans: bool, opted_in: bool) -> Option<String> {
        let consequence = if !delete_orphans {
            "PRUNE_DELETE_ORPHANS=false keeps them under the live rules anyway"
        } else if opted_in {
            "orphaned locations are still deleted after the grace, as PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET=true asks"
        } else {
            "so no orphaned location is deleted: each stays under the live rules (set PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET=true once every location in the bucket belongs to one deployment)"
        };
        match self {
            Sharing::Private => None,
            Sharing::Shared { grantees } => Some(format!(
                "the bucket policy lets others use this bucket ({}): their projects are invisible to this deployment ({deployment}), so a location it no longer sees in use may still be theirs; {consequence}",
                grantees.join(", ")
            )),
            Sharing::Unknown { why } => Some(format!(
                "whether other accounts use this bucket is unknown ({why}): their projects would be invisible to this deployment ({deployment}); {consequence}"
            )),
        }
    }
}

/// Reads a bucket policy document (None: the bucket has none) for a deployment in `account`.
pub fn read_policy(policy: Option<&str>, account: &str) -> Sharing {
    let Some(policy) = policy else { return Sharing::Private };
    let document: Value = match serde_json::from_str(policy) {
        Ok(v) => v,
        Err(e) => return Sharing::Unknown { why: format!("the bucket policy is not JSON: {e}") },
    };
    let statements = match &document["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&document["Statement"]],
        _ => return Sharing::Unknown { why: "the bucket policy has no Statement".into() },
    };
    let mut grantees = BTreeSet::new();
    for statement in statements.into_iter().filter(|s| s["Effect"] == "Allow") {
        if !statement["NotPrincipal"].is_null() {
            grantees.insert("every principal but those a NotPrincipal names".to_owned());
        }
        principals(&statement["Principal"], account, &mut grantees);
    }
    if grantees.is_empty() { Sharing::Private } else { Sharing::Shared { grantees: grantees.into_iter().collect() } }
}

fn principals(principal: &Value, account: &str, grantees: &mut BTreeSet<String>) {
    let Value::Object(map) = principal else {
        if principal.as_str() == Some("*") {
            grantees.insert("any principal (\"*\")".into());
        }
        return;
    };
    for (kind, values) in map {
        for value in strings(values) {
            match kind.as_str() {
                "AWS" => {
                    if let Some(other) = other_account(&value, account) {
                        grantees.insert(other);
                    }
                }
                "Service" => {}
                _ => {
                    grantees.insert(format!("{kind} {value}"));
                }
            }
        }
    }
}

/// The grantee an `AWS` principal names outside `account`, None for this account's own.
fn other_account(value: &str, account: &str) -> Option<String> {
    if value == "*" {
        return Some("any principal (\"*\")".into());
    }
    let owner = if value.starts_with("arn:") { value.split(':').nth(4).unwrap_or("") } else { value };
    if owner == account {
        None
    } else if owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("account {owner}"))
    } else {
        // A unique id (AIDA..., AROA...) that a deleted principal leaves: nobody can tell whose.
        Some(format!("principal {value}"))
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OWN: &str = "111111111111";

    fn read(policy: Value) -> Sharing {
        read_policy(Some(&policy.to_string()), OWN)
    }

    fn shared(grantees: &[&str]) -> Sharing {
        Sharing::Shared { grantees: grantees.iter().map(|g| (*g).to_owned()).collect() }
    }

    #[test]
    fn no_policy_and_own_principals_keep_the_bucket_private() {
        assert_eq!(read_policy(None, OWN), Sharing::Private);
        let own = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{OWN}:role/build")}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": [OWN, format!("arn:aws:sts::{OWN}:assumed-role/r/s")]}, "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "*"},
        ]});
        assert_eq!(read(own), Sharing::Private);
    }

    #[test]
    fn deny_statements_share_nothing() {
        // The template's own policy: deny "*" unless one of the functions' roles.
        let template = json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::b/.cache-sentinel/*"},
        ]});
        assert_eq!(read(template), Sharing::Private);
    }

    #[test]
    fn other_accounts_and_everyone_share_the_bucket() {
        let central = json!({"Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::222222222222:root", "333333333333", format!("arn:aws:iam::{OWN}:root")]},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::central/*"
        }});
        assert_eq!(read(central), shared(&["account 222222222222", "account 333333333333"]));
        let org = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}]});
        assert_eq!(read(org), shared(&["any principal (\"*\")"]));
        let aws_star =
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]});
        assert_eq!(read(aws_star), shared(&["any principal (\"*\")"]));
    }

    #[test]
    fn principals_nobody_can_place_count_as_others() {
        let odd = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "AROAEXAMPLEID"}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"CanonicalUser": "79a59df9"}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "NotPrincipal": {"AWS": format!("arn:aws:iam::{OWN}:root")}, "Action": "s3:*", "Resource": "*"},
        ]});
        assert_eq!(
            read(odd),
            shared(&[
                "CanonicalUser 79a59df9",
                "every principal but those a NotPrincipal names",
                "principal AROAEXAMPLEID"
            ])
        );
    }

    #[test]
    fn an_unreadable_policy_is_unknown_and_keeps_orphans() {
        assert!(matches!(read_policy(Some("{not json"), OWN), Sharing::Unknown { .. }));
        assert!(matches!(read(json!({"Version": "2012-10-17"})), Sharing::Unknown { .. }));
        let unknown = Sharing::Unknown { why: "AccessDenied".into() };
        assert!(!unknown.allows_orphan_deletion(false));
        assert!(unknown.allows_orphan_deletion(true));
        assert!(Sharing::Private.allows_orphan_deletion(false));
        assert!(!shared(&["account 222222222222"]).allows_orphan_deletion(false));
    }

    #[test]
    fn the_note_says_who_and_what_follows() {
        let two = shared(&["account 222222222222"]);
        let kept = two.note("111111111111/eu-west-1", true, false).unwrap();
        assert!(kept.contains("account 222222222222") && kept.contains("invisible to this deployment"), "{kept}");
        assert!(kept.contains("no orphaned location is deleted"), "{kept}");
        assert!(two.note("d", true, true).unwrap().contains("still deleted after the grace"));
        assert!(two.note("d", false, false).unwrap().contains("PRUNE_DELETE_ORPHANS=false"));
        assert_eq!(Sharing::Private.note("d", true, false), None);
    }
}
