//! Heals that do not stick: a project some tool deploys is healed and told, or only told
//! (`GUARD_OWNED_PROJECTS`); a project healed `GUARD_HEAL_LOOP_HEALS` times within
//! `GUARD_HEAL_LOOP_DAYS` and set back to the same cache each time is not healed again until the
//! window holds fewer such heals, or its source sets another cache (then it is healed again). The
//! heals are the guard's own heal markers (`dedup::heal_marker`: one object per heal, written when
//! it was claimed, naming the cache it replaced), read by their LastModified. Pure gates.

use super::config::OwnedProjects;
use super::dedup::setting_fingerprint;
use super::history::Healed;
use super::owner::{Owner, source_change};
use super::plan::{HealAction, HealPlan, RefusalCause};
use chrono::{DateTime, Duration, Utc};

/// The heal-loop rule: `heals` heals within `days` days (0 heals: never stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopRule {
    pub heals: u32,
    pub days: u32,
}

impl LoopRule {
    /// The heals within the window before `now`.
    pub fn recent(&self, heals: &[Healed], now: DateTime<Utc>) -> usize {
        self.in_window(heals, now).count()
    }

    fn in_window<'h>(&self, heals: &'h [Healed], now: DateTime<Utc>) -> impl Iterator<Item = &'h Healed> {
        let since = now - Duration::days(i64::from(self.days));
        heals.iter().filter(move |h| h.at > since && h.at <= now + Duration::minutes(5))
    }

    /// The heals within the window that replaced the cache the project has now (`setting`): set
    /// back to the same cache each time. A heal whose replaced cache was not recorded counts.
    pub fn looping(&self, heals: &[Healed], now: DateTime<Utc>, setting: &str) -> usize {
        self.in_window(heals, now).filter(|h| h.replaced.as_deref().is_none_or(|r| r == setting)).count()
    }
}

/// Under `GUARD_OWNED_PROJECTS=tell`, a heal of an owned project becomes a refusal that gives the
/// change to make at the source; under `heal` the heal goes ahead (its advice gives the change).
pub fn gate_on_owner(plan: HealPlan, owner: Option<&Owner>, mode: OwnedProjects) -> HealPlan {
    let Some(owner) = owner else { return plan };
    if plan.action != HealAction::Heal || mode == OwnedProjects::Heal {
        return plan;
    }
    let advice = source_change(owner, &plan.after);
    let mut plan = refuse(
        plan,
        RefusalCause::Owned,
        format!(
            "left as it is: the project is defined by {}, and GUARD_OWNED_PROJECTS=tell leaves the change to its source (a heal here would be undone by the next deployment)",
            owner.describe()
        ),
    );
    plan.advice.push(advice);
    plan
}

/// A heal due again after `rule.heals` heals within the window is a loop: refused, with what sets
/// the cache back (the owner, when the tags name one) and the change to make there.
pub fn gate_on_loop(
    plan: HealPlan,
    heals: &[Healed],
    now: DateTime<Utc>,
    rule: LoopRule,
    owner: Option<&Owner>,
) -> HealPlan {
    if plan.action != HealAction::Heal || rule.heals == 0 {
        return plan;
    }
    // Only heals from this same cache: a project its source now sets to another cache is healed.
    let recent = rule.looping(heals, now, &setting_fingerprint(&plan.before));
    if recent < rule.heals as usize {
        return plan;
    }
    let by = owner.map(|o| format!(" (the project is defined by {})", o.describe())).unwrap_or_default();
    let why = format!(
        "not healed again: healed {recent} times in the last {} days and set back to {} each time{by}; another heal would not stick. Healing resumes once fewer than {} heals fall within {} days (GUARD_HEAL_LOOP_HEALS, GUARD_HEAL_LOOP_DAYS)",
        rule.days, plan.before, rule.heals, rule.days
    );
    let advice = match owner {
        Some(owner) => source_change(owner, &plan.after),
        None => format!(
            "find what sets the cache back (a deployment, a script, a console user: CloudTrail's UpdateProject events name who) and make it set the S3 cache at {}",
            plan.after.location.as_deref().unwrap_or_default()
        ),
    };
    let mut plan = refuse(plan, RefusalCause::HealLoop, why);
    plan.advice.push(advice);
    plan
}

fn refuse(plan: HealPlan, cause: RefusalCause, why: String) -> HealPlan {
    HealPlan { action: HealAction::Refuse, after: plan.before.clone(), reason: why, refusal: Some(cause), ..plan }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::CacheSetting;

    fn heal() -> HealPlan {
        HealPlan::heal_for_tests("tts", CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]))
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap().to_utc()
    }

    const RULE: LoopRule = LoopRule { heals: 3, days: 7 };

    #[test]
    fn a_loop_is_told_once_for_its_window_other_refusals_daily() {
        use crate::guard::run::Pending;
        let unrecorded = [1, 2, 3].map(|d| Healed { at: now() - Duration::days(d), replaced: None });
        let looped = gate_on_loop(heal(), &unrecorded, now(), RULE, None);
        assert_eq!(looped.refusal, Some(RefusalCause::HealLoop));
        assert_eq!(Pending::Refused(looped.clone()).repeat(7), Duration::days(7));
        assert_eq!(Pending::Refused(looped).repeat(30), Duration::days(30));
        let other = HealPlan { action: HealAction::Refuse, refusal: Some(RefusalCause::Owned), ..heal() };
        assert_eq!(Pending::Refused(other).repeat(7), Duration::days(1));
    }

    #[test]
    fn a_loop_is_n_heals_within_the_window() {
        let local = setting_fingerprint(&heal().before);
        let days_ago = |d: i64| Healed { at: now() - Duration::days(d), replaced: Some(local.clone()) };
        let two = [days_ago(1), days_ago(2)];
        assert_eq!(gate_on_loop(heal(), &two, now(), RULE, None).action, HealAction::Heal);
        let three = [days_ago(1), days_ago(2), days_ago(6)];
        let stopped = gate_on_loop(heal(), &three, now(), RULE, None);
        assert_eq!((stopped.action, stopped.refusal), (HealAction::Refuse, Some(RefusalCause::HealLoop)));
        assert!(stopped.reason.contains("healed 3 times in the last 7 days"), "{}", stopped.reason);
        assert_eq!(stopped.after, stopped.before, "nothing changes");
        assert!(stopped.advice[0].contains("CloudTrail"), "{:?}", stopped.advice);
        // One of them out of the window: healing resumes.
        let old = [days_ago(1), days_ago(2), days_ago(8)];
        assert_eq!(gate_on_loop(heal(), &old, now(), RULE, None).action, HealAction::Heal);
        // Set back to another cache since (the source changed): healed again.
        let other =
            Healed { at: now() - Duration::days(1), replaced: Some(setting_fingerprint(&CacheSetting::none())) };
        let changed = [other.clone(), other.clone(), other];
        assert_eq!(gate_on_loop(heal(), &changed, now(), RULE, None).action, HealAction::Heal);
        // Markers that did not record the cache count.
        let unrecorded = [1, 2, 3].map(|d| Healed { at: now() - Duration::days(d), replaced: None });
        assert_eq!(gate_on_loop(heal(), &unrecorded, now(), RULE, None).action, HealAction::Refuse);
        // Off.
        assert_eq!(gate_on_loop(heal(), &three, now(), LoopRule { heals: 0, days: 7 }, None).action, HealAction::Heal);
        // With an owner: the source change.
        let owner = Owner::CloudFormation { stack: "tts".into(), logical_id: None };
        let stopped = gate_on_loop(heal(), &three, now(), RULE, Some(&owner));
        assert!(stopped.reason.contains("defined by CloudFormation stack tts"), "{}", stopped.reason);
        assert!(stopped.advice[0].contains("Type: S3"), "{:?}", stopped.advice);
    }

    #[test]
    fn tell_only_leaves_owned_projects_with_the_source_change() {
        let owner = Owner::Terraform { tag: "ManagedBy=terraform".into() };
        assert_eq!(gate_on_owner(heal(), Some(&owner), OwnedProjects::Heal).action, HealAction::Heal);
        assert_eq!(gate_on_owner(heal(), None, OwnedProjects::Tell).action, HealAction::Heal);
        let told = gate_on_owner(heal(), Some(&owner), OwnedProjects::Tell);
        assert_eq!((told.action, told.refusal), (HealAction::Refuse, Some(RefusalCause::Owned)));
        assert!(told.advice[0].contains("location = \"b/tts\""), "{:?}", told.advice);
    }
}
