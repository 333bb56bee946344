//! Once-only work across cold starts and concurrent invocations: the names of the guard's markers
//! in the cache bucket (`.cache-sentinel/guard/...`, conditional creates) and how long each holds.
//!
//! - A heal is claimed before UpdateProject under the project, its cache before the heal and the
//!   project's `lastModified`: ten builds starting together read the same project and race for
//!   one marker, so one UpdateProject and one notice; a later drift back changes `lastModified`
//!   and is healed again.
//! - A refusal, a warning and a failure are notified at most once a day per project and cause.

use super::plan::{HealPlan, RefusalCause};
use chrono::Duration;

/// The markers' folder under `.cache-sentinel/`.
pub const NAMESPACE: &str = "guard";

/// How long a heal claim holds. The marker name already changes with every change to the project;
/// the expiry only bounds a claim whose heal never finished (a crash between claim and release).
pub fn heal_claim_ttl() -> Duration {
    Duration::hours(1)
}

/// A refusal, warning or failure notice repeats at most this often.
pub fn notice_repeat() -> Duration {
    Duration::hours(24)
}

/// The claim on one heal of one project from one state: `heal/<project>/<setting>-<state>`, where
/// `setting` fingerprints the cache the heal replaced (so the heal history tells a project set back
/// to the same cache again, a loop, from one whose source changed) and `state` the whole state.
pub fn heal_marker(plan: &HealPlan, last_modified: Option<i64>) -> String {
    let state = format!("{}|{}|{}", plan.before, plan.after, last_modified.map_or("-".to_owned(), |t| t.to_string()));
    format!("heal/{}/{}-{:016x}", plan.project, setting_fingerprint(&plan.before), fnv1a(&state))
}

/// 8 hexadecimal digits for a cache setting (the `setting` part of a heal marker).
pub fn setting_fingerprint(setting: &crate::project::CacheSetting) -> String {
    format!("{:08x}", fnv1a(&setting.to_string()) as u32)
}

/// The setting fingerprint a heal marker's last part carries: `Some(Some(fp))` for
/// `<8 hex>-<16 hex>`, `Some(None)` for the older `<16 hex>` (the setting not recorded), None
/// when it is not a heal marker's.
pub fn heal_setting(last_part: &str) -> Option<Option<&str>> {
    let hex = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_hexdigit());
    match last_part.split_once('-') {
        Some((setting, state)) if hex(setting, 8) && hex(state, 16) => Some(Some(setting)),
        None if hex(last_part, 16) => Some(None),
        _ => None,
    }
}

/// The name every heal marker of `project` starts with.
pub fn heal_prefix(project: &str) -> String {
    format!("heal/{project}/")
}

pub fn refusal_marker(project: &str, cause: RefusalCause) -> String {
    format!("refused/{project}/{}", cause.as_str())
}

pub fn warning_marker(project: &str, warnings: &[String]) -> String {
    format!("warned/{project}/{:016x}", fnv1a(&warnings.join("\n")))
}

pub fn failure_marker(project: &str, operation: &str) -> String {
    format!("failed/{project}/{operation}")
}

/// FNV-1a, 64 bits: a fingerprint that stays the same across builds and Rust versions (the
/// standard library's hashers make no such promise), so markers written by one version are
/// recognised by the next.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::plan::HealAction;
    use crate::project::CacheSetting;

    fn plan(before: CacheSetting) -> HealPlan {
        HealPlan {
            project: "tts".into(),
            action: HealAction::Heal,
            before,
            after: CacheSetting::s3("b/tts"),
            reason: String::new(),
            advice: vec![],
            warnings: vec![],
            refusal: None,
            leave: None,
        }
    }

    #[test]
    fn heal_markers_change_with_the_state_and_nothing_else() {
        let local = plan(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        let a = heal_marker(&local, Some(1_700_000_000));
        assert_eq!(a, heal_marker(&local.clone(), Some(1_700_000_000)), "stable");
        assert!(a.starts_with("heal/tts/"));
        let last = a.rsplit('/').next().unwrap();
        assert_eq!(heal_setting(last), Some(Some(setting_fingerprint(&local.before).as_str())));
        assert_eq!(heal_setting("0123456789abcdef"), Some(None), "markers written before the setting was");
        assert_eq!(heal_setting("v2_0123456789abcdef"), None, "another project's (tts_v2)");
        assert_ne!(a, heal_marker(&local, Some(1_700_000_001)), "a later drift is another heal");
        assert_ne!(a, heal_marker(&plan(CacheSetting::none()), Some(1_700_000_000)));
        // The fingerprint is FNV-1a: fixed across versions.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn notice_markers_are_per_project_and_cause() {
        assert_eq!(refusal_marker("tts", RefusalCause::RoleAccess), "refused/tts/role-access");
        assert_ne!(warning_marker("tts", &["a".into()]), warning_marker("tts", &["b".into()]));
        assert_eq!(failure_marker("tts", "codebuild:UpdateProject"), "failed/tts/codebuild:UpdateProject");
    }
}
