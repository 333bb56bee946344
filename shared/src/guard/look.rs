//! The guard's look before a heal: pointing a project at a location makes what is there the
//! project's cache, which the pruner then deletes by age. So before a heal the guard lists one page
//! of the location and refuses when it holds other data:
//! * a location of the project's own (`<prefix><project>`): objects older than the project
//!   (BatchGetProjects' `created`) cannot be its cache (a project `releases` over years of release
//!   archives);
//! * the bucket root (a shared layout with no prefix): other folders beside it (`releases/`,
//!   `tf.backups/`), or root keys not named like cache objects (`terraform.tfstate`): the pruner
//!   would leave such a root alone (`pruner::root`), so the project's cache would grow forever.
//!
//! A location shared by every project under a prefix of its own (`CACHE_PREFIX_PER_PROJECT=false`
//! with `CACHE_KEY_PREFIX`) is the deployment's chosen cache prefix: not looked at. The look is a
//! fact ([`LocationLook`], one ListObjectsV2 call); [`gate_on_contents`] is pure.

use super::plan::{HealAction, HealPlan, RefusalCause};
use crate::RESERVED_PREFIX;
use crate::aws::s3_objects::ListedObject;
use crate::config::{CacheLayout, EXISTING_BUCKET_KEY_PREFIX};
use crate::pruner::root::cache_shaped;
use chrono::{DateTime, Utc};

/// What to look at before healing a project to `prefix` ("" = the bucket root), if anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LookAt {
    /// The project's own location `prefix/`: one page, every key.
    Own { prefix: String },
    /// The bucket root, with the delimiter `/`: its keys and its folders.
    Root,
}

impl LookAt {
    /// The look a heal to the layout's location for `project` needs.
    pub fn for_heal(layout: &CacheLayout, project: &str) -> Option<LookAt> {
        let prefix = layout.project_prefix(project);
        if prefix.is_empty() {
            Some(LookAt::Root)
        } else if layout.per_project_prefix {
            Some(LookAt::Own { prefix })
        } else {
            None
        }
    }
}

/// One page of the location, as S3 listed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationLook {
    pub objects: Vec<ListedObject>,
    /// Folders beside the root (with the delimiter): `releases/`.
    pub folders: Vec<String>,
}

/// Turns a heal into a refusal when the location holds other data; says where to cache instead.
pub fn gate_on_contents(
    plan: HealPlan,
    at: &LookAt,
    look: &LocationLook,
    created: Option<DateTime<Utc>>,
    layout: &CacheLayout,
    bucket: &str,
) -> HealPlan {
    if plan.action != HealAction::Heal {
        return plan;
    }
    let Some(found) = other_data(at, look, created) else { return plan };
    let target = plan.after.location.clone().unwrap_or_default();
    let mut advice = plan.advice.clone();
    advice.push(instead(layout, bucket, &plan.project));
    HealPlan {
        action: HealAction::Refuse,
        after: plan.before.clone(),
        reason: format!(
            "not switched: s3://{target} holds other data ({found}); made the project's cache, it would be deleted by age or kept forever"
        ),
        refusal: Some(RefusalCause::OtherData),
        advice,
        ..plan
    }
}

/// The first sign of data that is not this project's cache, in words.
fn other_data(at: &LookAt, look: &LocationLook, created: Option<DateTime<Utc>>) -> Option<String> {
    match at {
        LookAt::Root => {
            let folders: Vec<&str> =
                look.folders.iter().map(String::as_str).filter(|f| *f != RESERVED_PREFIX).take(3).collect();
            if !folders.is_empty() {
                return Some(format!("the bucket root is beside other folders: {}", folders.join(", ")));
            }
            let file = look.objects.iter().find(|o| !cache_shaped(&o.key))?;
            Some(format!("{:?} at the bucket root is not named like a cache object", file.key))
        }
        LookAt::Own { .. } => {
            let created_ms = created?.timestamp_millis();
            let older: Vec<&ListedObject> = look.objects.iter().filter(|o| o.last_modified_ms < created_ms).collect();
            let oldest = older.iter().min_by_key(|o| o.last_modified_ms)?;
            let when = DateTime::<Utc>::from_timestamp_millis(oldest.last_modified_ms)
                .map_or_else(String::new, |d| d.format(" (the oldest %Y-%m-%d)").to_string());
            Some(format!(
                "{} object(s) older than the project, created {}, such as {:?}{when}",
                older.len(),
                created.map_or_else(String::new, |c| c.format("%Y-%m-%d").to_string()),
                oldest.key
            ))
        }
    }
}

/// Where the project's cache could live instead.
fn instead(layout: &CacheLayout, bucket: &str, project: &str) -> String {
    if layout.key_prefix.is_empty() {
        format!(
            "cache under a prefix of its own instead: set CacheKeyPrefix (CACHE_KEY_PREFIX) to {EXISTING_BUCKET_KEY_PREFIX} and the guard heals the project to {bucket}/{EXISTING_BUCKET_KEY_PREFIX}{project}; or move the other data out"
        )
    } else {
        format!(
            "move the other data out of {bucket}/{}, or set CacheKeyPrefix (CACHE_KEY_PREFIX) to a prefix nothing else uses",
            layout.project_prefix(project)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::CacheSetting;
    use chrono::TimeZone;

    fn layout(key_prefix: &str, per_project_prefix: bool) -> CacheLayout {
        CacheLayout { bucket: None, key_prefix: key_prefix.into(), per_project_prefix }
    }

    fn heal(to: &str) -> HealPlan {
        HealPlan {
            project: "releases".into(),
            action: HealAction::Heal,
            before: CacheSetting::none(),
            after: CacheSetting::s3(to),
            reason: "NO_CACHE".into(),
            advice: vec![],
            warnings: vec![],
            refusal: None,
            leave: None,
        }
    }

    fn at(key: &str, days_ago: i64) -> ListedObject {
        ListedObject {
            key: key.into(),
            size: 1,
            last_modified_ms: (now() - chrono::Duration::days(days_ago)).timestamp_millis(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn what_is_looked_at_follows_the_layout() {
        assert_eq!(LookAt::for_heal(&layout("", true), "tts"), Some(LookAt::Own { prefix: "tts".into() }));
        assert_eq!(LookAt::for_heal(&layout("", false), "tts"), Some(LookAt::Root));
        assert_eq!(LookAt::for_heal(&layout("codebuild/", false), "tts"), None, "the deployment's own prefix");
        let own = LookAt::for_heal(&layout("codebuild-cache/", true), "tts");
        assert_eq!(own, Some(LookAt::Own { prefix: "codebuild-cache/tts".into() }));
    }

    #[test]
    fn objects_older_than_the_project_refuse_the_heal_and_name_the_way_out() {
        let look =
            LocationLook { objects: vec![at("releases/app-1.0.zip", 900), at("releases/x", 2)], folders: vec![] };
        let own = LookAt::Own { prefix: "releases".into() };
        let created = Some(now() - chrono::Duration::days(30));
        let plan = gate_on_contents(heal("b/releases"), &own, &look, created, &layout("", true), "b");
        assert_eq!((plan.action, plan.refusal), (HealAction::Refuse, Some(RefusalCause::OtherData)));
        assert_eq!(plan.after, plan.before);
        assert!(
            plan.reason.contains("s3://b/releases holds other data (1 object(s) older than the project"),
            "{}",
            plan.reason
        );
        assert!(plan.reason.contains("\"releases/app-1.0.zip\""), "{}", plan.reason);
        assert!(plan.advice[0].contains("b/codebuild-cache/releases"), "{:?}", plan.advice);
        // Its own cache from before a drift (newer than the project), or nothing: healed.
        let newer = LocationLook { objects: vec![at("releases/x", 2)], folders: vec![] };
        for look in [newer, LocationLook::default()] {
            let plan = gate_on_contents(heal("b/releases"), &own, &look, created, &layout("", true), "b");
            assert_eq!(plan.action, HealAction::Heal);
        }
        // Without a creation date nothing is known to be older.
        let plan = gate_on_contents(heal("b/releases"), &own, &look_old(), None, &layout("", true), "b");
        assert_eq!(plan.action, HealAction::Heal);
    }

    fn look_old() -> LocationLook {
        LocationLook { objects: vec![at("releases/app-1.0.zip", 900)], folders: vec![] }
    }

    #[test]
    fn the_root_beside_other_folders_or_files_refuses_the_heal() {
        let root = |objects: Vec<ListedObject>, folders: &[&str]| LocationLook {
            objects,
            folders: folders.iter().map(|f| (*f).to_owned()).collect(),
        };
        let cases = [
            (
                root(vec![at("0a1b2c3d", 1)], &[".cache-sentinel/", "releases/"]),
                Some("beside other folders: releases/"),
            ),
            (root(vec![at("terraform.tfstate", 1)], &[]), Some("\"terraform.tfstate\" at the bucket root")),
            (root(vec![at("0a1b2c3d", 900)], &[".cache-sentinel/"]), None),
            (root(vec![], &[]), None),
        ];
        for (look, refused) in cases {
            let plan = gate_on_contents(heal("b"), &LookAt::Root, &look, Some(now()), &layout("", false), "b");
            match refused {
                Some(says) => {
                    assert_eq!(plan.action, HealAction::Refuse, "{look:?}");
                    assert!(plan.reason.contains(says), "{}", plan.reason);
                }
                None => assert_eq!(plan.action, HealAction::Heal, "{look:?}"),
            }
        }
    }

    #[test]
    fn only_heals_are_gated() {
        let mut kept = heal("b/releases");
        kept.action = HealAction::NoChange;
        let own = LookAt::Own { prefix: "releases".into() };
        assert_eq!(gate_on_contents(kept.clone(), &own, &look_old(), Some(now()), &layout("", true), "b"), kept);
    }
}
