//! The planner's decisions, unit and property tests.

use super::*;
use chrono::TimeZone;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
}

fn policy(root: &str) -> PrunePolicy {
    PrunePolicy {
        root: root.into(),
        per_project: true,
        keep_newest: 2,
        max_age: Duration::days(30),
        min_age: Duration::hours(24),
        orphan_grace: Duration::days(7),
        project_budget: None,
        total_budget: None,
        max_deletes: 100_000,
        projects: ProjectFilter::default(),
    }
}

fn obj(key: &str, days_old: i64, size: u64) -> ObjectMeta {
    ObjectMeta::new(key, size, now() - Duration::days(days_old))
}

fn sorted(mut v: Vec<ObjectMeta>) -> Vec<ObjectMeta> {
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

fn keys(plan: &Plan) -> BTreeSet<(String, Reason)> {
    plan.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect()
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
    let plan = plan(listing, &policy(""), now(), &HashSet::new());
    // tts keeps c and d (the 2 newest, both older than the maximum age); web keeps its only object.
    assert_eq!(keys(&plan), BTreeSet::from([("tts/a".into(), Reason::MaxAge), ("tts/b".into(), Reason::MaxAge)]));
    assert_eq!(plan.summary.projects["tts"].planned, 2);
    assert_eq!(plan.summary.total_bytes_after, Some(25));
}

#[test]
fn young_objects_are_never_deleted_but_count_among_the_newest() {
    let mut p = policy("");
    p.keep_newest = 1;
    let listing = sorted(vec![obj("tts/fresh", 0, 1), obj("tts/old", 50, 1), obj("tts/mid", 10, 1)]);
    let plan = plan(listing, &p, now(), &HashSet::new());
    assert_eq!(keys(&plan), BTreeSet::from([("tts/old".into(), Reason::MaxAge)]));
    // A young object is not deleted even when orphaned and beyond N.
    let missing = HashSet::from(["tts".to_owned()]);
    let listing = sorted(vec![obj("tts/a", 0, 1), ObjectMeta::new("tts/b", 1, now() - Duration::hours(2))]);
    assert!(super::plan(listing, &p, now(), &missing).deletions.is_empty());
}

#[test]
fn orphans_go_after_the_grace_period_including_their_newest() {
    let missing = HashSet::from(["gone".to_owned()]);
    let listing = sorted(vec![obj("gone/a", 8, 1), obj("gone/b", 8, 1), obj("gone/c", 3, 1), obj("live/a", 8, 1)]);
    let plan = plan(listing, &policy(""), now(), &missing);
    assert_eq!(keys(&plan), BTreeSet::from([("gone/a".into(), Reason::Orphaned), ("gone/b".into(), Reason::Orphaned)]));
    assert!(plan.summary.projects["gone"].orphaned);
}

#[test]
fn keys_outside_the_root_reserved_or_without_project_are_never_touched() {
    let listing = sorted(vec![
        obj(".cache-sentinel/pruner/state.json", 400, 1),
        obj("cache/", 400, 1),
        obj("cache/loose-file", 400, 1),
        obj("cache/tts/a", 400, 1),
        obj("cache/tts/b", 400, 1),
        obj("cache/tts/c", 400, 1),
        obj("other/tts/a", 400, 1),
    ]);
    let plan = plan(listing, &policy("cache/"), now(), &HashSet::new());
    assert_eq!(keys(&plan), BTreeSet::from([("cache/tts/a".into(), Reason::MaxAge)]));
    assert_eq!(plan.summary.skipped, Skipped { outside_root: 3, reserved: 0, no_project: 1 });
    // At the bucket root, the reserved prefix is inside the root and still never deleted.
    let listing = sorted(vec![
        obj(".cache-sentinel/pruner/state.json", 400, 1),
        obj(".cache-sentinel/x/y", 400, 1),
        obj(".cache-sentinel/x/z", 400, 1),
        obj(".cache-sentinel/x/w", 400, 1),
    ]);
    let plan = super::plan(listing, &policy(""), now(), &HashSet::new());
    assert!(plan.deletions.is_empty());
    assert_eq!(plan.summary.skipped.reserved, 4);
}

#[test]
fn shared_prefix_layout_is_one_group() {
    let mut p = policy("");
    p.per_project = false;
    let listing = sorted(vec![obj("a", 50, 1), obj("b/c", 40, 1), obj("d", 35, 1), obj("e", 1, 1)]);
    let missing = HashSet::from(["b".to_owned()]);
    let plan = plan(listing, &p, now(), &missing);
    assert_eq!(keys(&plan), BTreeSet::from([("a".into(), Reason::MaxAge), ("b/c".into(), Reason::MaxAge)]));
    assert_eq!(plan.summary.projects.keys().collect::<Vec<_>>(), vec![SHARED_GROUP]);
}

#[test]
fn budgets_delete_oldest_first_until_under() {
    let mut p = policy("");
    p.keep_newest = 1;
    p.project_budget = Some(30);
    let listing = sorted(vec![
        obj("tts/a", 5, 10),
        obj("tts/b", 4, 10),
        obj("tts/c", 3, 10),
        obj("tts/d", 2, 10),
        obj("tts/e", 0, 10),
    ]);
    let plan = plan(listing.clone(), &p, now(), &HashSet::new());
    assert_eq!(
        keys(&plan),
        BTreeSet::from([("tts/a".into(), Reason::ProjectBudget), ("tts/b".into(), Reason::ProjectBudget)])
    );
    // Total budget across projects, oldest first.
    p.project_budget = None;
    p.total_budget = Some(35);
    let mut listing = listing;
    listing.extend([obj("web/a", 6, 10), obj("web/b", 1, 10)]);
    let plan = super::plan(sorted(listing), &p, now(), &HashSet::new());
    assert_eq!(
        keys(&plan),
        BTreeSet::from([
            ("web/a".into(), Reason::TotalBudget),
            ("tts/a".into(), Reason::TotalBudget),
            ("tts/b".into(), Reason::TotalBudget),
            ("tts/c".into(), Reason::TotalBudget)
        ])
    );
    assert_eq!(plan.summary.total_bytes_after, Some(30));
}

#[test]
fn the_total_budget_drains_in_bounded_batches_as_in_one_go() {
    let mut p = policy("");
    p.keep_newest = 1;
    p.total_budget = Some(25);
    let listing = sorted(vec![
        obj("tts/a", 5, 10),
        obj("tts/b", 4, 10),
        obj("tts/c", 3, 10),
        obj("web/a", 6, 10),
        obj("web/b", 2, 10),
    ]);
    let whole = plan(listing.clone(), &p, now(), &HashSet::new());
    let missing = HashSet::new();
    let mut planner = Planner::new(&p, now(), &missing, None);
    let mut out = Vec::new();
    for o in listing {
        planner.push(o, &mut out);
    }
    planner.end_listing(true, &mut out);
    assert!(out.is_empty(), "no age deletions here");
    let mut batches = 0;
    let mut all = Vec::new();
    while planner.drain_budget(&mut out, 1) {
        assert!(out.len() <= 1);
        batches += 1;
        all.append(&mut out);
    }
    all.append(&mut out);
    assert_eq!(all, whole.deletions);
    assert_eq!(all.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), vec!["web/a", "tts/a", "tts/b"]);
    assert!(batches >= 2);
    assert_eq!(planner.into_summary(), whole.summary);
}

#[test]
fn budget_that_cannot_be_met_is_reported() {
    let mut p = policy("");
    p.keep_newest = 2;
    p.project_budget = Some(5);
    let plan =
        plan(sorted(vec![obj("tts/a", 5, 10), obj("tts/b", 4, 10), obj("tts/c", 3, 10)]), &p, now(), &HashSet::new());
    assert_eq!(keys(&plan), BTreeSet::from([("tts/a".into(), Reason::ProjectBudget)]));
    assert!(plan.summary.projects["tts"].over_budget);
}

#[test]
fn out_of_scope_projects_are_left_alone() {
    let mut p = policy("");
    p.projects = ProjectFilter::new(vec![], vec!["legacy-*".into()]).unwrap();
    let plan = plan(
        sorted(vec![obj("legacy-x/a", 90, 1), obj("legacy-x/b", 90, 1), obj("legacy-x/c", 90, 1)]),
        &p,
        now(),
        &HashSet::from(["legacy-x".to_owned()]),
    );
    assert!(plan.deletions.is_empty());
    assert!(plan.summary.projects["legacy-x"].out_of_scope);
}

#[test]
fn the_cap_stops_planning() {
    let mut p = policy("");
    p.keep_newest = 1;
    p.max_deletes = 3;
    let listing: Vec<_> = (0..10).map(|i| obj(&format!("tts/{i:02}"), 40 + i, 1)).collect();
    let plan = plan(listing, &p, now(), &HashSet::new());
    assert_eq!(plan.deletions.len(), 3);
    assert!(plan.summary.capped);
}

// ---- property tests ----

#[derive(Debug, Clone)]
struct Case {
    policy: PrunePolicy,
    listing: Vec<ObjectMeta>,
    missing: HashSet<String>,
    split: usize,
}

fn case() -> impl Strategy<Value = Case> {
    let object = (
        prop::sample::select(vec!["", "cache/", "other/", ".cache-sentinel/", "cache/.cache-sentinel/"]),
        prop::sample::select(vec!["alpha/", "beta/", "gamma-1/", "legacy-x/", "", "alpha-2/"]),
        0u32..40,
        0i64..(90 * 24),
        0u64..1000,
    )
        .prop_map(|(area, project, n, hours, size)| {
            ObjectMeta::new(format!("{area}{project}obj-{n:03}"), size, now() - Duration::hours(hours))
        });
    (
        prop::collection::vec(object, 0..200),
        prop::sample::select(vec!["", "cache/"]),
        any::<bool>(),
        1usize..5,
        (1i64..60, 0i64..72, 0i64..20),
        (prop::option::of(0u64..5000), prop::option::of(0u64..20000)),
        1usize..200,
        prop::sample::subsequence(vec!["alpha", "beta", "legacy-x", "gamma-1"], 0..3),
        any::<bool>(),
        0usize..200,
    )
        .prop_map(
            |(
                listing,
                root,
                per_project,
                keep,
                (max_days, min_hours, grace_days),
                (pb, tb),
                cap,
                missing,
                exclude,
                split,
            )| {
                let mut listing = listing;
                listing.sort_by(|a, b| a.key.cmp(&b.key));
                listing.dedup_by(|a, b| a.key == b.key);
                let projects = if exclude {
                    ProjectFilter::new(vec![], vec!["legacy-*".into()]).unwrap()
                } else {
                    ProjectFilter::default()
                };
                let policy = PrunePolicy {
                    root: root.into(),
                    per_project,
                    keep_newest: keep,
                    max_age: Duration::days(max_days),
                    min_age: Duration::hours(min_hours),
                    orphan_grace: Duration::days(grace_days),
                    project_budget: pb,
                    total_budget: tb,
                    max_deletes: cap,
                    projects,
                };
                let split = split.min(listing.len());
                Case { policy, listing, missing: missing.into_iter().map(str::to_owned).collect(), split }
            },
        )
}

/// The N newest keys of each live, in-scope group: never deleted.
fn protected(case: &Case) -> (BTreeSet<String>, BTreeMap<String, Vec<&ObjectMeta>>) {
    let mut groups: BTreeMap<String, Vec<&ObjectMeta>> = BTreeMap::new();
    for o in &case.listing {
        if let Some(g) = case.policy.group_of(&o.key) {
            groups.entry(g.to_owned()).or_default().push(o);
        }
    }
    let mut keep = BTreeSet::new();
    for (g, objects) in &groups {
        // An orphan within its grace period is treated like a live project.
        let orphan = case.policy.per_project && case.missing.contains(g);
        let grace_ms = case.policy.orphan_grace.num_milliseconds();
        let mut sorted: Vec<_> = objects.clone();
        sorted.sort_by(|a, b| (b.last_modified_ms, &b.key).cmp(&(a.last_modified_ms, &a.key)));
        let newest = sorted.iter().take(case.policy.keep_newest);
        keep.extend(
            newest
                .filter(|o| !orphan || now().timestamp_millis() - o.last_modified_ms <= grace_ms)
                .map(|o| o.key.clone()),
        );
    }
    (keep, groups)
}

fn check_safety(case: &Case, deletions: &[Deletion]) -> Result<(), TestCaseError> {
    let (keep, _) = protected(case);
    let p = &case.policy;
    let min_age_ms = p.min_age.num_milliseconds();
    let mut seen = HashSet::new();
    for d in deletions {
        prop_assert!(seen.insert(d.key.clone()), "deleted twice: {}", d.key);
        prop_assert!(d.key.starts_with(&p.root) && d.key.len() > p.root.len(), "outside the root: {}", d.key);
        prop_assert!(!d.key.starts_with(RESERVED_PREFIX), "reserved: {}", d.key);
        let group = p.group_of(&d.key);
        prop_assert!(group.is_some(), "no group: {}", d.key);
        let group = group.unwrap_or_default();
        prop_assert!(group == SHARED_GROUP || p.projects.check(group).is_ok(), "out of scope: {}", d.key);
        prop_assert!(now().timestamp_millis() - d.last_modified_ms >= min_age_ms, "too young: {}", d.key);
        prop_assert!(!keep.contains(&d.key), "one of the N newest of a live project: {}", d.key);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plans_are_safe_capped_and_complete(case in case()) {
        let plan = plan(case.listing.clone(), &case.policy, now(), &case.missing);
        check_safety(&case, &plan.deletions)?;
        let p = &case.policy;
        prop_assert!(plan.deletions.len() <= p.max_deletes);
        prop_assert_eq!(plan.summary.planned as usize, plan.deletions.len());
        if plan.summary.capped {
            return Ok(());
        }
        let (keep, groups) = protected(&case);
        let deleted: HashSet<&str> = plan.deletions.iter().map(|d| d.key.as_str()).collect();
        let now_ms = now().timestamp_millis();
        let deletable = |o: &ObjectMeta| !keep.contains(&o.key) && now_ms - o.last_modified_ms >= p.min_age.num_milliseconds();
        let mut total_after = 0u64;
        let mut stuck_total = true;
        for (g, objects) in &groups {
            let in_scope = g == SHARED_GROUP || p.projects.check(g).is_ok();
            let orphan = p.per_project && case.missing.contains(g);
            let remaining: Vec<_> = objects.iter().filter(|o| !deleted.contains(o.key.as_str())).collect();
            let bytes: u64 = remaining.iter().map(|o| o.size).sum();
            total_after += bytes;
            if !in_scope {
                prop_assert_eq!(remaining.len(), objects.len());
                continue;
            }
            for o in &remaining {
                let age = now_ms - o.last_modified_ms;
                if deletable(o) {
                    stuck_total = false;
                    // Completeness: what the age rules condemn is deleted.
                    prop_assert!(age <= p.max_age.num_milliseconds(), "old object kept: {}", o.key);
                    prop_assert!(!(orphan && age > p.orphan_grace.num_milliseconds()), "expired orphan kept: {}", o.key);
                }
            }
            if let Some(budget) = p.project_budget
                && bytes > budget {
                    prop_assert!(remaining.iter().all(|o| !deletable(o)), "project {g} over budget with deletable objects left");
                }
        }
        for o in &case.listing {
            if p.group_of(&o.key).is_none() {
                prop_assert!(!deleted.contains(o.key.as_str()));
            }
        }
        if let Some(budget) = p.total_budget {
            let in_root: u64 = groups.values().flatten().filter(|o| !deleted.contains(o.key.as_str())).map(|o| o.size).sum();
            prop_assert_eq!(in_root, total_after);
            if total_after > budget {
                prop_assert!(stuck_total, "over the total budget with deletable objects left");
            }
            prop_assert_eq!(plan.summary.total_bytes_after, Some(total_after));
        }
    }

    #[test]
    fn a_run_split_anywhere_and_resumed_is_as_safe_and_without_budgets_identical(case in case()) {
        let whole = plan(case.listing.clone(), &case.policy, now(), &case.missing);
        let mut first = Planner::new(&case.policy, now(), &case.missing, None);
        let mut deletions = Vec::new();
        for o in case.listing[..case.split].iter().cloned() {
            first.push(o, &mut deletions);
        }
        if first.capped() {
            return Ok(());
        }
        let (summary, carry) = first.suspend();
        let mut second = Planner::new(&case.policy, now(), &case.missing, carry);
        for o in case.listing[case.split..].iter().cloned() {
            second.push(o, &mut deletions);
        }
        let capped2 = second.capped();
        let summary2 = second.finish(false, &mut deletions);
        check_safety(&case, &deletions)?;
        let budgets = case.policy.project_budget.is_some() || case.policy.total_budget.is_some();
        if !budgets && !capped2 && !summary2.capped && !whole.summary.capped && summary.planned + summary2.planned <= case.policy.max_deletes as u64 {
            let mut a: Vec<_> = deletions.iter().map(|d| (d.key.clone(), d.reason)).collect();
            let mut b: Vec<_> = whole.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect();
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
        }
    }
}
