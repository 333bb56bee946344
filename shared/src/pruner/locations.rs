//! From CodeBuild's projects to the pruner's scope: which S3 cache locations of this bucket are in
//! use (grouping the projects that share one), which are excluded, and which are no longer used.
//!
//! A location that was managed and no project uses any more is *missing* from the first sweep that
//! sees it so (recorded in the state); it is orphaned, and goes, only once it has been missing for
//! the grace period. The grace is never counted from object age, and a location the pruner never saw
//! in use is never treated as an orphan: it is unmanaged.

use super::scope::{ExcludedLocation, LocationState, ManagedLocation, Scope, is_reserved};
use crate::filter::ProjectFilter;
use crate::project::{CacheSetting, ProjectSnapshot};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the state remembers of a location the pruner has seen in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownLocation {
    /// It was managed when last seen in use (not excluded): only then can it become an orphan.
    pub managed: bool,
    pub last_seen_live: DateTime<Utc>,
    /// The first sweep that found no project using it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_since: Option<DateTime<Utc>>,
    /// The projects that used it when last seen.
    #[serde(default)]
    pub projects: Vec<String>,
    /// The earliest `created` of every project seen using it: nothing older is its cache, also
    /// once its projects are gone (kept here for orphans). None in states of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<DateTime<Utc>>,
}

/// What the scope is decided from.
#[derive(Debug, Clone)]
pub struct ScopeInputs<'a> {
    pub bucket: &'a str,
    /// `CACHE_KEY_PREFIX` ("" or ending in `/`): the pruner's role may delete only under it.
    pub key_prefix: &'a str,
    pub filter: &'a ProjectFilter,
    /// Every project of the account and region (ListProjects, BatchGetProjects).
    pub projects: &'a [ProjectSnapshot],
    pub known: &'a BTreeMap<String, KnownLocation>,
    pub now: DateTime<Utc>,
    pub grace: Duration,
    pub delete_orphans: bool,
}

/// The scope, and what the state should remember next.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub scope: Scope,
    pub known: BTreeMap<String, KnownLocation>,
}

/// The key prefix of an S3 cache location in `bucket` (`bucket` or `bucket/prefix`, also written
/// as an S3 ARN), without a trailing `/`; None for another bucket or another cache type.
pub fn location_in_bucket(cache: &CacheSetting, bucket: &str) -> Option<String> {
    let location = cache.location.as_deref().filter(|_| cache.is_s3())?;
    let location = crate::project::s3_path(location);
    let (name, prefix) = location.split_once('/').unwrap_or((location, ""));
    (name == bucket).then(|| prefix.trim_end_matches('/').to_owned())
}

/// A location's projects, their namespaces, and the earliest of their creation dates.
type Group = (Vec<String>, Vec<String>, Option<DateTime<Utc>>);

/// The projects of each location of the bucket, their namespaces and when the first was created.
fn groups(inputs: &ScopeInputs) -> BTreeMap<String, Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for project in inputs.projects {
        let Some(prefix) = location_in_bucket(&project.cache, inputs.bucket) else { continue };
        let (names, namespaces, born) = groups.entry(prefix).or_default();
        let created = project.created.and_then(DateTime::from_timestamp_millis);
        *born = earliest(*born, created);
        names.push(project.name.clone());
        if let Some(ns) = &project.cache.namespace
            && !namespaces.contains(ns)
        {
            namespaces.push(ns.clone());
        }
    }
    groups
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Why a location in use is not the pruner's to prune, if it is not.
fn exclusion(prefix: &str, projects: &[String], inputs: &ScopeInputs) -> Option<String> {
    if is_reserved(prefix) {
        return Some("under .cache-sentinel/, cache-sentinel's own prefix".into());
    }
    if !format!("{prefix}/").starts_with(inputs.key_prefix) {
        return Some(format!("outside CACHE_KEY_PREFIX {:?}, where the pruner may not delete", inputs.key_prefix));
    }
    let outside: Vec<&str> = projects.iter().filter(|p| inputs.filter.check(p).is_err()).map(String::as_str).collect();
    (!outside.is_empty())
        .then(|| format!("used by projects out of scope (PROJECT_INCLUDE/EXCLUDE): {}", outside.join(", ")))
}

/// Decides the scope and the state's next record of locations.
pub fn discover(inputs: &ScopeInputs) -> Discovered {
    let mut managed = Vec::new();
    let mut excluded = Vec::new();
    let mut known = BTreeMap::new();
    let groups = groups(inputs);
    for (prefix, (projects, namespaces, created)) in &groups {
        let why = exclusion(prefix, projects, inputs);
        // A project deleted and created again under the same name keeps the location's first birth.
        let born = earliest(*created, inputs.known.get(prefix).and_then(|k| k.born));
        let record = KnownLocation {
            managed: why.is_none(),
            last_seen_live: inputs.now,
            missing_since: None,
            projects: projects.clone(),
            born,
        };
        known.insert(prefix.clone(), record);
        match why {
            Some(reason) => {
                excluded.push(ExcludedLocation { prefix: prefix.clone(), reason, projects: projects.clone() })
            }
            None => managed.push(ManagedLocation {
                prefix: prefix.clone(),
                state: LocationState::Live,
                projects: projects.clone(),
                namespaces: namespaces.clone(),
                born,
            }),
        }
    }
    for (prefix, was) in inputs.known.iter().filter(|(p, _)| !groups.contains_key(*p)) {
        let missing_since = was.missing_since.unwrap_or(inputs.now);
        known.insert(prefix.clone(), KnownLocation { missing_since: Some(missing_since), ..was.clone() });
        if !was.managed || exclusion(prefix, &[], inputs).is_some() {
            let reason = "no longer used; it was not managed when last in use".to_owned();
            excluded.push(ExcludedLocation { prefix: prefix.clone(), reason, projects: was.projects.clone() });
            continue;
        }
        let expired = inputs.delete_orphans && inputs.now - missing_since >= inputs.grace;
        let state =
            if expired { LocationState::Orphaned { missing_since } } else { LocationState::Missing { missing_since } };
        managed.push(ManagedLocation {
            prefix: prefix.clone(),
            state,
            projects: vec![],
            namespaces: vec![],
            born: was.born,
        });
    }
    Discovered { scope: Scope::new(managed, excluded), known }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
    }

    fn project(name: &str, location: &str, namespace: Option<&str>) -> ProjectSnapshot {
        let mut cache = CacheSetting::s3(location);
        cache.namespace = namespace.map(str::to_owned);
        ProjectSnapshot::new(name, cache)
    }

    fn inputs<'a>(
        projects: &'a [ProjectSnapshot],
        known: &'a BTreeMap<String, KnownLocation>,
        filter: &'a ProjectFilter,
    ) -> ScopeInputs<'a> {
        ScopeInputs {
            bucket: "cache",
            key_prefix: "",
            filter,
            projects,
            known,
            now: now(),
            grace: Duration::days(7),
            delete_orphans: true,
        }
    }

    #[test]
    fn locations_are_parsed_in_this_bucket_only() {
        let at = |l: &str| location_in_bucket(&CacheSetting::s3(l), "cache");
        assert_eq!(at("cache").as_deref(), Some(""));
        assert_eq!(at("cache/").as_deref(), Some(""));
        assert_eq!(at("cache/team-cache/tts-api/").as_deref(), Some("team-cache/tts-api"));
        assert_eq!(at("arn:aws:s3:::cache/tts").as_deref(), Some("tts"));
        // Every partition's ARN form names the same location (a project moved to it keeps it live).
        assert_eq!(at("arn:aws-cn:s3:::cache/tts").as_deref(), Some("tts"));
        assert_eq!(at("arn:aws-us-gov:s3:::cache/tts/").as_deref(), Some("tts"));
        assert_eq!(at("arn:aws-iso-b:s3:::cache").as_deref(), Some(""));
        assert_eq!(at("arn:other:s3:::cache/tts"), None, "not a partition");
        assert_eq!(at("arn:aws-cn:s3:::elsewhere/tts"), None);
        assert_eq!(at("cache-2/tts"), None);
        assert_eq!(location_in_bucket(&CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]), "cache"), None);
    }

    #[test]
    fn projects_sharing_a_location_or_namespace_form_one_live_group() {
        let projects = [
            project("a", "cache/shared", Some("ns-1")),
            project("b", "cache/shared", Some("ns-1")),
            project("c", "cache", None),
            project("d", "other-bucket/x", None),
        ];
        let known = BTreeMap::new();
        let filter = ProjectFilter::default();
        let d = discover(&inputs(&projects, &known, &filter));
        let managed: Vec<_> = d.scope.managed().iter().map(|m| (m.prefix.as_str(), m.projects.clone())).collect();
        assert_eq!(managed, vec![("", vec!["c".to_owned()]), ("shared", vec!["a".to_owned(), "b".to_owned()])]);
        assert_eq!(d.scope.managed()[1].namespaces, vec!["ns-1"]);
        assert_eq!(d.known.keys().collect::<Vec<_>>(), vec!["", "shared"]);
        assert!(d.known.values().all(|k| k.last_seen_live == now() && k.missing_since.is_none()));
    }

    #[test]
    fn out_of_scope_projects_and_locations_outside_the_key_prefix_are_excluded() {
        let projects = [
            project("tts", "cache/codebuild/tts", None),
            project("legacy-x", "cache/codebuild/tts", None),
            project("web", "cache/web", None),
        ];
        let known = BTreeMap::new();
        let filter = ProjectFilter::new(vec![], vec!["legacy-*".into()]).unwrap();
        let mut i = inputs(&projects, &known, &filter);
        i.key_prefix = "codebuild/";
        let d = discover(&i);
        assert!(d.scope.managed().is_empty());
        let reasons: Vec<_> = d.scope.excluded().iter().map(|e| (e.prefix.as_str(), e.reason.as_str())).collect();
        assert!(reasons[0].0 == "codebuild/tts" && reasons[0].1.contains("legacy-x"), "{reasons:?}");
        assert!(reasons[1].0 == "web" && reasons[1].1.contains("CACHE_KEY_PREFIX"), "{reasons:?}");
    }

    #[test]
    fn a_location_is_orphaned_only_after_being_seen_missing_for_the_grace_period() {
        let filter = ProjectFilter::default();
        let seen = |missing_since: Option<DateTime<Utc>>| KnownLocation {
            managed: true,
            last_seen_live: now() - Duration::days(30),
            missing_since,
            projects: vec!["gone".into()],
            born: None,
        };
        // First seen missing now: missing, not orphaned, however long ago it was last seen in use.
        let known = BTreeMap::from([("gone".to_owned(), seen(None))]);
        let d = discover(&inputs(&[], &known, &filter));
        assert_eq!(d.scope.managed()[0].state, LocationState::Missing { missing_since: now() });
        assert_eq!(d.known["gone"].missing_since, Some(now()));
        // Missing for 6 days: still within the grace; 7 days: orphaned.
        let known = BTreeMap::from([("gone".to_owned(), seen(Some(now() - Duration::days(6))))]);
        assert!(matches!(
            discover(&inputs(&[], &known, &filter)).scope.managed()[0].state,
            LocationState::Missing { .. }
        ));
        let since = now() - Duration::days(7);
        let known = BTreeMap::from([("gone".to_owned(), seen(Some(since)))]);
        let mut i = inputs(&[], &known, &filter);
        assert_eq!(discover(&i).scope.managed()[0].state, LocationState::Orphaned { missing_since: since });
        // Orphan deletion off: it stays under the live rules.
        i.delete_orphans = false;
        assert!(matches!(discover(&i).scope.managed()[0].state, LocationState::Missing { .. }));
        // In use again: live, and the missing clock is reset.
        let projects = [project("back", "cache/gone", None)];
        let d = discover(&inputs(&projects, &known, &filter));
        assert_eq!(d.scope.managed()[0].state, LocationState::Live);
        assert_eq!(d.known["gone"].missing_since, None);
    }

    #[test]
    fn a_location_that_was_excluded_never_becomes_an_orphan() {
        let filter = ProjectFilter::default();
        let was = KnownLocation {
            managed: false,
            last_seen_live: now() - Duration::days(90),
            missing_since: Some(now() - Duration::days(60)),
            projects: vec!["legacy-x".into()],
            born: None,
        };
        let known = BTreeMap::from([("legacy".to_owned(), was)]);
        let d = discover(&inputs(&[], &known, &filter));
        assert!(d.scope.managed().is_empty());
        assert_eq!(d.scope.excluded()[0].prefix, "legacy");
    }

    #[test]
    fn a_location_is_born_with_its_first_project_and_remembers_it() {
        let filter = ProjectFilter::default();
        let created = |name: &str, location: &str, days_ago: i64| {
            let mut p = project(name, location, None);
            p.created = Some((now() - Duration::days(days_ago)).timestamp_millis());
            p
        };
        let projects =
            [created("a", "cache/shared", 10), created("b", "cache/shared", 40), project("c", "cache/c", None)];
        let d = discover(&inputs(&projects, &BTreeMap::new(), &filter));
        assert_eq!(d.scope.managed()[1].born, Some(now() - Duration::days(40)), "the earliest of its projects");
        assert_eq!(d.scope.managed()[0].born, None, "no creation date known");
        assert_eq!(d.known["shared"].born, Some(now() - Duration::days(40)));
        // Its projects deleted: the orphan keeps the birth it was seen with.
        let d = discover(&inputs(&[], &d.known, &filter));
        assert_eq!(d.scope.managed()[1].born, Some(now() - Duration::days(40)));
        // A project created again today under the same location keeps the first birth.
        let again = [created("b", "cache/shared", 0)];
        let d = discover(&inputs(&again, &d.known, &filter));
        let shared = d.scope.managed().iter().find(|m| m.prefix == "shared").unwrap();
        assert_eq!(shared.born, Some(now() - Duration::days(40)));
    }
}
