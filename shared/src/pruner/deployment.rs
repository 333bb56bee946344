//! Whose state and lease: one deployment of the pruner is one AWS account and region (a stack, or
//! the command line run with that account's credentials). Several deployments may share one
//! central cache bucket (`ExistingCacheBucket`); each sees only its own account's projects, so each
//! keeps its own state (the locations it has seen live) and its own lease, under
//! `.cache-sentinel/pruner/<account>/<region>/`. A deployment never orphans a location it has not
//! itself seen live: another account's live cache is invisible to it, not missing.
//!
//! Before this split all deployments shared `.cache-sentinel/pruner/state.json`. It is read once
//! (when a deployment has no state of its own) and only the locations this deployment's projects
//! use now are taken from it ([`migrate`]); it is never written again.

use super::state::PrunerState;
use std::collections::BTreeSet;

/// The state file every deployment shared before the split.
pub const LEGACY_STATE_KEY: &str = ".cache-sentinel/pruner/state.json";

/// One deployment's place in a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub bucket: String,
    /// The AWS account (from the event or STS); "unknown-account" when nothing tells it.
    pub account: String,
    pub region: String,
}

impl Deployment {
    pub fn new(bucket: &str, account: Option<&str>, region: &str) -> Self {
        let account = account
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("unknown-account")
            .to_owned();
        // A region is lowercase letters, digits and '-'; anything else must not shape a key.
        let region: String =
            region.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-').collect();
        Deployment { bucket: bucket.to_owned(), account, region }
    }

    fn prefix(&self) -> String {
        format!("{}pruner/{}/{}/", crate::RESERVED_PREFIX, self.account, self.region)
    }

    pub fn state_key(&self) -> String {
        format!("{}state.json", self.prefix())
    }

    /// Where a sweep says it waits for the lease (`waiting`).
    pub fn sweep_waiting_key(&self) -> String {
        format!("{}sweep-waiting.json", self.prefix())
    }

    pub fn lease_key(&self) -> String {
        format!("{}lease.json", self.prefix())
    }

    /// `123456789012/ap-south-1`
    pub fn name(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

/// This deployment's state from the shared file: only the locations its projects use now (`live`),
/// with what the file remembered of them; the others may be another account's live caches, so they
/// are left to whoever sees them live. The sweep in progress starts over. Returns the note for the
/// report.
pub fn migrate(legacy: &PrunerState, live: &BTreeSet<String>) -> (PrunerState, String) {
    let mut state = PrunerState::new();
    state.locations = legacy
        .locations
        .iter()
        .filter(|(prefix, _)| live.contains(*prefix))
        .map(|(p, l)| (p.clone(), l.clone()))
        .collect();
    let left = legacy.locations.len() - state.locations.len();
    let note = format!(
        "first run with a state of its own: from the shared {LEGACY_STATE_KEY} it took the {} location(s) its projects use; {left} other(s) may be other deployments' and are never orphaned by this one (delete them by hand if they are no one's)",
        state.locations.len()
    );
    (state, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruner::locations::KnownLocation;

    #[test]
    fn each_account_and_region_has_its_own_keys() {
        let a = Deployment::new("central", Some("111111111111"), "eu-west-1");
        let b = Deployment::new("central", Some("222222222222"), "eu-west-1");
        assert_eq!(a.state_key(), ".cache-sentinel/pruner/111111111111/eu-west-1/state.json");
        assert_ne!(a.state_key(), b.state_key());
        assert_ne!(a.lease_key(), b.lease_key());
        assert_ne!(a.state_key(), LEGACY_STATE_KEY);
        let odd = Deployment::new("central", Some("../../x"), "eu-west-1/../..");
        assert_eq!(odd.state_key(), ".cache-sentinel/pruner/unknown-account/eu-west-1/state.json");
    }

    #[test]
    fn migration_keeps_only_what_this_deployment_uses() {
        let mut legacy = PrunerState::new();
        for prefix in ["mine", "theirs", "gone"] {
            let seen = KnownLocation {
                managed: true,
                last_seen_live: chrono::Utc::now(),
                missing_since: None,
                projects: vec![],
                born: None,
            };
            legacy.locations.insert(prefix.into(), seen);
        }
        let (state, note) = migrate(&legacy, &BTreeSet::from(["mine".to_owned(), "new".to_owned()]));
        assert_eq!(state.locations.keys().collect::<Vec<_>>(), vec!["mine"]);
        assert!(state.sweep.is_none());
        assert!(note.contains("took the 1 location(s)") && note.contains("2 other(s)"), "{note}");
    }
}
