//! The planner's decisions and the sweep's walk, unit and property tests.

use super::*;
use crate::aws::s3_objects::ListedObject;
use crate::pruner::budget::TotalBudget;
use crate::pruner::lister::MemoryLister;
use crate::pruner::planner::LocationPlanner;
use crate::pruner::rest::RestTask;
use crate::pruner::scope::{ExcludedLocation, ManagedLocation};
use crate::pruner::task::{Ending, LocationTask};
use crate::pruner::testkit::collect_deletions;
use chrono::TimeZone;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashSet};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
}

fn policy() -> PrunePolicy {
    PrunePolicy {
        keep_newest: 2,
        max_age: Duration::days(30),
        min_age: Duration::hours(24),
        project_budget: None,
        total_budget: None,
        max_deletes: 100_000,
    }
}

fn obj(key: &str, days_old: i64, size: u64) -> ObjectMeta {
    ObjectMeta::new(key, size, now() - Duration::days(days_old))
}

fn sorted(mut v: Vec<ObjectMeta>) -> Vec<ObjectMeta> {
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

fn live(prefix: &str) -> ManagedLocation {
    ManagedLocation::live(prefix)
}

fn orphaned(prefix: &str) -> ManagedLocation {
    ManagedLocation { state: LocationState::Orphaned { missing_since: now() - Duration::days(8) }, ..live(prefix) }
}

fn scope(managed: &[ManagedLocation]) -> Scope {
    Scope::new(managed.to_vec(), vec![])
}

fn keys(plan: &BucketPlan) -> BTreeSet<(String, Reason)> {
    plan.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect()
}

fn set(items: &[(&str, Reason)]) -> BTreeSet<(String, Reason)> {
    items.iter().map(|(k, r)| ((*k).to_owned(), *r)).collect()
}

#[test]
fn old_objects_beyond_the_newest_n_are_deleted_and_the_newest_kept_however_old() {
    let listing = sorted(vec![
        obj("tts/a", 90, 10),
        obj("tts/b", 60, 10),
        obj("tts/c", 45, 10),
        obj("tts/d", 40, 10),
        obj("web/x", 100, 5),
    ]);
    let plan = plan_bucket(&listing, &scope(&[live("tts"), live("web")]), &policy(), now());
    // tts keeps c and d (the 2 newest, both older than the maximum age); web keeps its only object.
    assert_eq!(keys(&plan), set(&[("tts/a", Reason::MaxAge), ("tts/b", Reason::MaxAge)]));
    assert_eq!(plan.locations[0].planned, 2);
}

#[test]
fn young_objects_are_never_deleted_but_count_among_the_newest() {
    let mut p = policy();
    p.keep_newest = 1;
    let listing = sorted(vec![obj("tts/fresh", 0, 1), obj("tts/old", 50, 1), obj("tts/mid", 10, 1)]);
    let plan = plan_bucket(&listing, &scope(&[live("tts")]), &p, now());
    assert_eq!(keys(&plan), set(&[("tts/old", Reason::MaxAge)]));
    // Not even an orphaned location loses an object younger than the minimum age.
    let listing = sorted(vec![obj("gone/a", 0, 1), ObjectMeta::new("gone/b", 1, now() - Duration::hours(2))]);
    assert!(plan_bucket(&listing, &scope(&[orphaned("gone")]), &p, now()).deletions.is_empty());
}

#[test]
fn an_orphaned_location_loses_everything_past_the_minimum_age_including_its_newest() {
    let listing = sorted(vec![obj("gone/a", 8, 1), obj("gone/b", 8, 1), obj("gone/c", 0, 1), obj("live/a", 80, 1)]);
    let plan = plan_bucket(&listing, &scope(&[orphaned("gone"), live("live")]), &policy(), now());
    assert_eq!(keys(&plan), set(&[("gone/a", Reason::Orphaned), ("gone/b", Reason::Orphaned)]));
}

#[test]
fn objects_older_than_the_locations_first_project_are_never_deleted_and_are_reported() {
    // A project named `releases` (healed to <bucket>/releases 40 days ago) over years of archives.
    let releases = ManagedLocation { born: Some(now() - Duration::days(40)), ..live("releases") };
    let gone = ManagedLocation { born: Some(now() - Duration::days(40)), ..orphaned("old") };
    let listing = sorted(vec![
        obj("releases/app-1.0.zip", 900, 100),
        obj("releases/app-1.1.zip", 400, 100),
        obj("releases/cache-a", 39, 10),
        obj("releases/cache-b", 35, 10),
        obj("releases/cache-c", 2, 10),
        obj("old/archive-2019.tar", 2000, 500),
        obj("old/cache-x", 20, 5),
    ]);
    let plan = plan_bucket(&listing, &scope(&[releases, gone]), &policy(), now());
    assert_eq!(keys(&plan), set(&[("releases/cache-a", Reason::MaxAge), ("old/cache-x", Reason::Orphaned)]));
    // Locations in prefix order: old, releases.
    assert_eq!((plan.locations[1].predating, plan.locations[1].bytes_predating), (2, 200));
    assert_eq!((plan.locations[0].predating, plan.locations[0].bytes_predating), (1, 500));
    // Unknown birth (a state of an earlier version, no creation date): the rules as before.
    let plan = plan_bucket(&listing, &scope(&[live("releases")]), &policy(), now());
    assert!(keys(&plan).contains(&("releases/app-1.0.zip".to_owned(), Reason::MaxAge)));
}

#[test]
fn keys_outside_the_managed_locations_are_never_touched() {
    let listing = sorted(vec![
        obj(".cache-sentinel/pruner/state.json", 400, 1),
        obj("cache/tts/a", 400, 1),
        obj("cache/tts/b", 400, 1),
        obj("cache/tts/c", 400, 1),
        obj("cache/tts-api/a", 400, 1),
        obj("cache/tts-api/b", 400, 1),
        obj("cache/tts-api/c", 400, 1),
        obj("legacy/a", 400, 1),
        obj("legacy/b", 400, 1),
        obj("legacy/c", 400, 1),
        obj("releases/app-1.40.0.zip", 400, 1),
        obj("loose-file", 400, 1),
    ]);
    let excluded = vec![ExcludedLocation { prefix: "legacy".into(), reason: "out of scope".into(), projects: vec![] }];
    let s = Scope::new(vec![live("cache/tts")], excluded);
    let plan = plan_bucket(&listing, &s, &policy(), now());
    assert_eq!(keys(&plan), set(&[("cache/tts/a", Reason::MaxAge)]));
    assert_eq!(plan.unmanaged, 5, "cache/tts-api (not cache/tts), releases, the loose file");
    // A root location takes the loose file, and still nothing with a '/'.
    let s = Scope::new(vec![live(""), live("cache/tts")], vec![]);
    let plan = plan_bucket(&listing, &s, &policy(), now());
    assert!(plan.deletions.iter().all(|d| d.key == "cache/tts/a"), "{:?}", plan.deletions);
}

#[test]
fn budgets_delete_oldest_first_until_under() {
    let mut p = policy();
    p.keep_newest = 1;
    p.project_budget = Some(30);
    let listing = sorted(vec![
        obj("tts/a", 5, 10),
        obj("tts/b", 4, 10),
        obj("tts/c", 3, 10),
        obj("tts/d", 2, 10),
        obj("tts/e", 0, 10),
    ]);
    let plan = plan_bucket(&listing, &scope(&[live("tts")]), &p, now());
    assert_eq!(keys(&plan), set(&[("tts/a", Reason::ProjectBudget), ("tts/b", Reason::ProjectBudget)]));
    // Total budget across locations, oldest first.
    p.project_budget = None;
    p.total_budget = Some(35);
    let mut listing = listing;
    listing.extend([obj("web/a", 6, 10), obj("web/b", 1, 10)]);
    let plan = plan_bucket(&sorted(listing), &scope(&[live("tts"), live("web")]), &p, now());
    assert_eq!(
        keys(&plan),
        set(&[
            ("web/a", Reason::TotalBudget),
            ("tts/a", Reason::TotalBudget),
            ("tts/b", Reason::TotalBudget),
            ("tts/c", Reason::TotalBudget)
        ])
    );
}

#[test]
fn the_total_budget_drains_in_bounded_batches() {
    let mut p = policy();
    p.keep_newest = 1;
    p.total_budget = Some(25);
    let s = scope(&[live("tts"), live("web")]);
    let listing = sorted(vec![
        obj("tts/a", 5, 10),
        obj("tts/b", 4, 10),
        obj("tts/c", 3, 10),
        obj("web/a", 6, 10),
        obj("web/b", 2, 10),
    ]);
    let whole = plan_bucket(&listing, &s, &p, now());
    let quota = RunQuota::new(p.max_deletes);
    let mut drain = budget_of(&p, &quota, &listing).into_drain(&quota);
    let (mut batches, mut all) = (0, Vec::new());
    loop {
        let mut out = Vec::new();
        let more = drain.next_batch(&["tts", "web"], &quota, 1, &mut out);
        assert!(out.len() <= 1);
        batches += 1;
        all.append(&mut out);
        if !more {
            break;
        }
    }
    assert_eq!(all, whole.deletions);
    assert_eq!(all.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), vec!["web/a", "tts/a", "tts/b"]);
    assert!(batches >= 3);
    assert_eq!(drain.finish(&quota).bytes_after, Some(20));

    // Stopped after the first batch (the deadline, a caller's stop): nothing more is emitted and
    // the outcome says it was applied only in part.
    let quota = RunQuota::new(p.max_deletes);
    let mut drain = budget_of(&p, &quota, &listing).into_drain(&quota);
    let mut out = Vec::new();
    assert!(drain.next_batch(&["tts", "web"], &quota, 1, &mut out));
    drain.stop("deadline reached");
    assert!(!drain.next_batch(&["tts", "web"], &quota, 1, &mut out), "nothing after the stop");
    assert_eq!(out.len(), 1);
    let outcome = drain.finish(&quota);
    assert_eq!(outcome.bytes_after, None);
    assert!(outcome.note.is_some_and(|n| n.contains("applied only in part: stopped (deadline reached)")));
}

/// The total budget of the locations `tts` and `web`, each planned from `listing` as a sweep does
/// (no age deletions among them).
fn budget_of(p: &PrunePolicy, quota: &RunQuota, listing: &[ObjectMeta]) -> TotalBudget {
    let mut total = TotalBudget::new(p.total_budget, 2);
    for (i, prefix) in ["tts", "web"].iter().enumerate() {
        let mut planner = LocationPlanner::new(p, quota, prefix, false, now(), vec![]);
        let mut out = Vec::new();
        for o in listing.iter().filter(|o| o.key.starts_with(&format!("{prefix}/"))) {
            planner.push(o.clone(), &mut out);
        }
        assert!(out.is_empty(), "no age deletions here");
        total.absorb(i as u32, planner.finish(&mut out), quota);
    }
    total
}

#[test]
fn a_budget_that_cannot_be_met_is_reported() {
    let mut p = policy();
    p.project_budget = Some(5);
    let quota = RunQuota::new(p.max_deletes);
    let mut planner = LocationPlanner::new(&p, &quota, "tts", false, now(), vec![]);
    let mut out = Vec::new();
    for o in sorted(vec![obj("tts/a", 5, 10), obj("tts/b", 4, 10), obj("tts/c", 3, 10)]) {
        planner.push(o, &mut out);
    }
    let finished = planner.finish(&mut out);
    assert_eq!(out.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), vec!["tts/a"]);
    assert!(finished.over_budget);
}

#[test]
fn budgets_are_not_applied_past_the_record_cap_and_nothing_is_held_then() {
    let mut p = policy();
    p.keep_newest = 1;
    p.project_budget = Some(1);
    let quota = RunQuota::new(p.max_deletes);
    // Spend the allowance but a few records' worth.
    assert!(quota.records.take(crate::pruner::records::RECORD_BYTES_CAP - 100));
    let mut planner = LocationPlanner::new(&p, &quota, "tts", false, now(), vec![]);
    let mut out = Vec::new();
    for i in 0..20 {
        planner.push(obj(&format!("tts/{i:02}"), 3, 10), &mut out);
    }
    let finished = planner.finish(&mut out);
    assert!(out.is_empty(), "no budget deletion on a partial view: {out:?}");
    assert!(finished.budget_not_applied.is_some());
    assert_eq!(finished.candidates.len(), 0);
}

#[test]
fn a_resumed_listing_reports_the_budget_not_applied_only_when_there_is_a_budget() {
    let carried = vec![crate::pruner::newest::Kept { key: "tts/00".into(), size: 1, last_modified_ms: 0 }];
    let mut p = policy();
    let quota = RunQuota::new(p.max_deletes);
    let mut out = Vec::new();
    let finished = LocationPlanner::new(&p, &quota, "tts", false, now(), carried.clone()).finish(&mut out);
    assert_eq!(finished.budget_not_applied, None, "no budget configured: nothing to report");
    p.project_budget = Some(1);
    let finished = LocationPlanner::new(&p, &quota, "tts", false, now(), carried).finish(&mut out);
    assert_eq!(finished.budget_not_applied.as_deref(), Some("the location's listing was split across runs"));
}

#[test]
fn the_cap_stops_planning_across_locations() {
    let mut p = policy();
    p.keep_newest = 1;
    p.max_deletes = 3;
    let mut listing: Vec<_> = (0..10).map(|i| obj(&format!("tts/{i:02}"), 40 + i, 1)).collect();
    listing.extend((0..10).map(|i| obj(&format!("web/{i:02}"), 40 + i, 1)));
    let plan = plan_bucket(&sorted(listing), &scope(&[live("tts"), live("web")]), &p, now());
    assert_eq!(plan.deletions.len(), 3);
    assert!(plan.locations.iter().any(|l| l.capped));
}

// ---- property tests: the walk over an in-memory S3, and the planner's safety ----

/// Runs the sweep's own location and rest tasks over an in-memory bucket (small pages, so that
/// walks cross pages and jump over inner locations) and collects every planned deletion.
/// With `empty_pages`, S3 answers every request first with a truncated page of no keys.
fn walk_in_memory(
    listing: &[ObjectMeta],
    scope: &Scope,
    policy: &PrunePolicy,
    page_size: usize,
    empty_pages: bool,
) -> Vec<Deletion> {
    let objects = listing
        .iter()
        .map(|o| ListedObject { key: o.key.clone(), size: o.size, last_modified_ms: o.last_modified_ms })
        .collect();
    let lister = MemoryLister::new(objects).with_page_size(page_size);
    let lister = if empty_pages { lister.with_empty_pages() } else { lister };
    collect_deletions(&lister, policy, now(), async |shared| {
        for m in scope.managed().iter().filter(|m| !m.prefix.is_empty()) {
            let task = LocationTask {
                prefix: &m.prefix,
                orphaned: matches!(m.state, LocationState::Orphaned { .. }),
                born: m.born,
                skip: scope.claimed_inside(&m.prefix),
                writers: scope.writers_of(&m.prefix),
                resume: Default::default(),
            };
            // A listing never fails over S3's documented answers (empty truncated pages included).
            if let Ending::Failed { error, .. } = task.run(shared).await.ending {
                panic!("the listing of {:?} failed: {error}", m.prefix);
            }
        }
        let rest = RestTask { scope, resume: Default::default(), folders: true }.run(shared).await;
        if let Some((why, _, error)) = rest.stopped.filter(|(_, _, error)| error.is_some()) {
            panic!("the bucket's listing failed: {why}: {error:?}");
        }
    })
}

/// A location two projects share: "daily" wrote an object a day for 10 days, "monthly" one 25
/// days ago; each is attributed by its build times and keeps its N newest, also when the listing
/// is split and resumed with the carried heaps.
#[test]
fn a_shared_location_keeps_the_n_newest_of_each_project() {
    use crate::project::CacheSetting;
    use crate::pruner::writers::{BuildSpan, Writers};
    let span = |days: i64| {
        let start = (now() - Duration::days(days) - Duration::minutes(30)).timestamp_millis();
        BuildSpan {
            started_ms: Some(start),
            ended_ms: Some(start + 20 * 60_000),
            cache: Some(CacheSetting::s3("b/tts")),
        }
    };
    let written = |days: i64| now() - Duration::days(days) - Duration::minutes(20);
    let mut listing: Vec<_> = (0..10).map(|d| ObjectMeta::new(format!("tts/d{d:02}"), 1, written(d))).collect();
    listing.push(ObjectMeta::new("tts/m25", 1, written(25)));
    let listing = sorted(listing);
    let builds =
        vec![("daily".to_owned(), Ok((0..10).map(span).collect())), ("monthly".to_owned(), Ok(vec![span(25)]))];
    let writers = Writers::from_builds("b", "tts", builds, now().timestamp_millis());
    let mut s = scope(&[ManagedLocation { projects: vec!["daily".into(), "monthly".into()], ..live("tts") }]);
    let p = PrunePolicy { max_age: Duration::days(5), ..policy() };
    let deleted = |plan: &BucketPlan| plan.deletions.iter().map(|d| d.key.clone()).collect::<BTreeSet<_>>();
    // Without the writers the location keeps 2: the monthly object goes.
    assert!(deleted(&plan_bucket(&listing, &s, &p, now())).contains("tts/m25"));
    s.set_writers("tts", writers.clone());
    let whole = deleted(&plan_bucket(&listing, &s, &p, now()));
    let expected: BTreeSet<String> = (5..10).map(|d| format!("tts/d{d:02}")).collect();
    assert_eq!(whole, expected, "daily keeps its 2 newest and those under 5 days old; monthly its only one");
    // Split anywhere and resumed with the carried heaps: the same.
    for split in 0..listing.len() {
        let quota = RunQuota::new(usize::MAX);
        let mut out = Vec::new();
        let mut first = LocationPlanner::new(&p, &quota, "tts", false, now(), vec![]).writers(Some(&writers));
        listing[..split].iter().for_each(|o| _ = first.push(o.clone(), &mut out));
        let (_, carried) = first.suspend();
        let mut second = LocationPlanner::new(&p, &quota, "tts", false, now(), carried).writers(Some(&writers));
        listing[split..].iter().for_each(|o| _ = second.push(o.clone(), &mut out));
        second.finish(&mut out);
        assert_eq!(out.iter().map(|d| d.key.clone()).collect::<BTreeSet<_>>(), expected, "split at {split}");
    }
}

/// A location with one inside it, walked in pages of 2 that end inside the inner one (the walk
/// jumps over it), where S3 answers every request first with a truncated page of no keys.
#[test]
fn empty_truncated_pages_change_nothing_the_walk_plans() {
    let mut listing: Vec<_> = (0..6).map(|i| obj(&format!("tts/{i:02}"), 40 + i, 1)).collect();
    listing.extend((0..5).map(|i| obj(&format!("tts/inner/{i:02}"), 40 + i, 1)));
    listing.extend((0..6).map(|i| obj(&format!("tts/z{i:02}"), 50 + i, 1)));
    listing.push(obj("notes.txt", 400, 1));
    let s = scope(&[live("tts"), live("tts/inner")]);
    let listing = sorted(listing);
    let whole = plan_bucket(&listing, &s, &policy(), now());
    for page_size in 1..4 {
        let plain = walk_in_memory(&listing, &s, &policy(), page_size, false);
        let empty = walk_in_memory(&listing, &s, &policy(), page_size, true);
        let keys = |d: &[Deletion]| d.iter().map(|d| d.key.clone()).collect::<BTreeSet<_>>();
        assert_eq!(keys(&empty), keys(&plain), "page size {page_size}");
        assert_eq!(keys(&empty), keys(&whole.deletions), "page size {page_size}");
    }
}

const SEGMENTS: [&str; 7] = ["a", "a-b", "b", "c", ".cache-sentinel", "releases", "x"];

/// Keys from a few path segments, so that locations nest and share name prefixes (`a`, `a-b`).
fn any_key() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..3), 0u32..6)
        // One name in six is a file people keep (never cache at the bucket root).
        .prop_map(|(dirs, n)| {
            let name = if n == 5 { "terraform.tfstate".to_owned() } else { format!("k{n}") };
            dirs.iter().map(|d| format!("{d}/")).collect::<String>() + &name
        })
}

/// Location prefixes: "" (the bucket root) or 1-2 segments.
fn any_prefix() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SEGMENTS.to_vec()), 0..3).prop_map(|dirs| dirs.join("/"))
}

#[derive(Debug, Clone)]
struct Case {
    listing: Vec<ObjectMeta>,
    scope: Scope,
    policy: PrunePolicy,
    page_size: usize,
}

fn case() -> impl Strategy<Value = Case> {
    let object = (any_key(), 0i64..(90 * 24), 0u64..1000)
        .prop_map(|(key, hours, size)| ObjectMeta::new(key, size, now() - Duration::hours(hours)));
    (
        prop::collection::vec(object, 0..120),
        prop::collection::vec((any_prefix(), 0u8..4, prop::option::of(0i64..(90 * 24))), 0..5),
        1usize..4,
        (1i64..60, 1i64..72),
        (prop::option::of(0u64..5000), prop::option::of(0u64..20000)),
        1usize..300,
        1usize..5,
    )
        .prop_map(|(listing, locations, keep, (max_days, min_hours), (pb, tb), cap, page_size)| {
            let mut managed = Vec::new();
            let mut excluded = Vec::new();
            for (prefix, kind, born_hours_ago) in locations {
                // When the location's first project was created, if known.
                let born = born_hours_ago.map(|h| now() - Duration::hours(h));
                match kind {
                    0 => excluded.push(ExcludedLocation { prefix, reason: "out of scope".into(), projects: vec![] }),
                    1 => managed.push(ManagedLocation { born, ..orphaned(&prefix) }),
                    _ => managed.push(ManagedLocation { born, ..live(&prefix) }),
                }
            }
            let policy = PrunePolicy {
                keep_newest: keep,
                max_age: Duration::days(max_days),
                min_age: Duration::hours(min_hours),
                project_budget: pb,
                total_budget: tb,
                max_deletes: cap,
            };
            let mut listing = sorted(listing);
            listing.dedup_by(|a, b| a.key == b.key);
            Case { listing, scope: Scope::new(managed, excluded), policy, page_size }
        })
}

/// The N newest keys of each live location: never deleted.
fn protected(case: &Case) -> HashSet<String> {
    let mut keep = HashSet::new();
    for (i, m) in case.scope.managed().iter().enumerate() {
        if matches!(m.state, LocationState::Orphaned { .. }) {
            continue;
        }
        let mut objects: Vec<&ObjectMeta> = case
            .listing
            .iter()
            .filter(|o| case.scope.owner_of(&o.key) == Owner::Managed(i) && !predates(m, o.last_modified_ms))
            .collect();
        objects.sort_by(|a, b| (b.last_modified_ms, &b.key).cmp(&(a.last_modified_ms, &a.key)));
        keep.extend(objects.iter().take(case.policy.keep_newest).map(|o| o.key.clone()));
    }
    keep
}

fn check_safety(case: &Case, deletions: &[Deletion]) -> Result<(), TestCaseError> {
    let keep = protected(case);
    let holds_other_data = case.listing.iter().any(|o| case.scope.owner_of(&o.key) == Owner::Unmanaged);
    let min_age_ms = case.policy.min_age.num_milliseconds();
    let mut seen = HashSet::new();
    for d in deletions {
        prop_assert!(seen.insert(d.key.clone()), "deleted twice: {}", d.key);
        prop_assert!(case.scope.may_delete(&d.key), "outside the managed locations: {}", d.key);
        prop_assert!(case.listing.iter().any(|o| o.key == d.key), "not in the bucket: {}", d.key);
        prop_assert!(now().timestamp_millis() - d.last_modified_ms >= min_age_ms, "too young: {}", d.key);
        prop_assert!(!keep.contains(&d.key), "one of the N newest of a live location: {}", d.key);
        let Owner::Managed(i) = case.scope.owner_of(&d.key) else { unreachable!("checked above") };
        let m = &case.scope.managed()[i];
        prop_assert!(!predates(m, d.last_modified_ms), "older than the location's first project: {}", d.key);
        prop_assert!(
            !(m.prefix.is_empty() && holds_other_data),
            "a root key deleted in a bucket that holds more than cache: {}",
            d.key
        );
        prop_assert!(!m.prefix.is_empty() || super::super::root::cache_shaped(&d.key), "not cache-shaped: {}", d.key);
    }
    Ok(())
}

/// Older than the location's first project: not its cache.
fn predates(m: &ManagedLocation, last_modified_ms: i64) -> bool {
    m.born.is_some_and(|born| last_modified_ms < born.timestamp_millis())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any bucket content and any set of live (and missing, and excluded) locations, nothing
    /// outside the managed locations is ever planned for deletion, by the sweep's own walk.
    #[test]
    fn nothing_outside_the_managed_locations_is_ever_planned(case in case(), empty_pages in any::<bool>()) {
        let walked = walk_in_memory(&case.listing, &case.scope, &case.policy, case.page_size, empty_pages);
        check_safety(&case, &walked)?;
        let whole = plan_bucket(&case.listing, &case.scope, &case.policy, now());
        check_safety(&case, &whole.deletions)?;
        prop_assert!(whole.deletions.len() <= case.policy.max_deletes);
        // Without a cap or a total budget in play, the walk plans exactly what the whole plan does:
        // every key of a location reached its planner, once.
        if case.policy.total_budget.is_none() && whole.deletions.len() < case.policy.max_deletes {
            let a: BTreeSet<_> = walked.iter().map(|d| (d.key.clone(), d.reason)).collect();
            let b: BTreeSet<_> = whole.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect();
            prop_assert_eq!(a, b);
        }
    }

    /// A location's listing split anywhere and resumed with the carried heap plans, without budgets,
    /// exactly what one run plans.
    #[test]
    fn a_listing_split_anywhere_and_resumed_is_exact(case in case(), split in 0usize..200) {
        let mut policy = case.policy.clone();
        (policy.project_budget, policy.total_budget, policy.max_deletes) = (None, None, usize::MAX);
        let s = scope(&[live("a")]);
        let listing: Vec<_> = case.listing.iter().filter(|o| s.may_delete(&o.key)).cloned().collect();
        let whole = plan_bucket(&listing, &s, &policy, now());
        let split = split.min(listing.len());
        let quota = RunQuota::new(policy.max_deletes);
        let mut out = Vec::new();
        let mut first = LocationPlanner::new(&policy, &quota, "a", false, now(), vec![]);
        for o in &listing[..split] {
            first.push(o.clone(), &mut out);
        }
        let (_, carried) = first.suspend();
        prop_assert!(carried.len() <= policy.keep_newest);
        let mut second = LocationPlanner::new(&policy, &quota, "a", false, now(), carried);
        for o in &listing[split..] {
            second.push(o.clone(), &mut out);
        }
        second.finish(&mut out);
        let a: BTreeSet<_> = out.iter().map(|d| (d.key.clone(), d.reason)).collect();
        let b: BTreeSet<_> = whole.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect();
        prop_assert_eq!(a, b);
    }
}
