//! cache-guard's metrics: one line per invocation that looked at projects (a build event or the
//! hourly sweep): how many it healed, refused and kept on LOCAL because LOCAL is right.

use super::MetricsMode;
use super::catalogue::{FUNCTION, HEALS, KEPT, REFUSALS};
use super::emf::MetricLine;
use crate::guard::report::{GuardReport, Outcome};

pub fn lines(report: &GuardReport, mode: MetricsMode, timestamp_ms: i64) -> Vec<MetricLine> {
    if mode == MetricsMode::Off || report.projects.is_empty() {
        return vec![];
    }
    // In a dry run "would heal" is what the guard decided: the figure a dry-run week is read by.
    let heals = report.count(Outcome::Healed) + report.count(Outcome::WouldHeal);
    let line = MetricLine::new(timestamp_ms)
        .dimension(FUNCTION, "cache-guard")
        .dimension_set(&[FUNCTION])
        .metric(&HEALS, heals as f64)
        .metric(&REFUSALS, report.count(Outcome::Refused) as f64)
        .metric(&KEPT, report.count(Outcome::Kept) as f64)
        .property("Trigger", report.trigger)
        .property("DryRun", report.dry_run);
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::plan::HealPlan;
    use crate::guard::report::ProjectOutcome;
    use crate::metrics::emf::tests::assert_valid_emf;
    use crate::project::CacheSetting;

    fn outcome(project: &str, outcome: Outcome) -> ProjectOutcome {
        let plan = HealPlan::heal_for_tests(project, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        ProjectOutcome::from_plan(&plan, None, outcome)
    }

    fn report(outcomes: &[Outcome]) -> GuardReport {
        GuardReport {
            trigger: "scheduled-sweep",
            event_id: None,
            dry_run: false,
            bucket: "b".into(),
            projects: outcomes.iter().enumerate().map(|(i, o)| outcome(&format!("p{i}"), *o)).collect(),
            notice_problems: vec![],
            refused: None,
            findings: None,
        }
    }

    #[test]
    fn a_sweeps_line_counts_heals_refusals_and_kept() {
        use Outcome::*;
        let r = report(&[Healed, Healed, WouldHeal, Refused, Kept, Kept, Kept, Unchanged, Skipped]);
        let json = lines(&r, MetricsMode::On, 1_764_000_000_000)[0].to_json();
        assert_valid_emf(&json);
        assert_eq!(json["Function"], "cache-guard");
        assert_eq!(
            (json["Heals"].as_f64(), json["Refusals"].as_f64(), json["Kept"].as_f64()),
            (Some(3.0), Some(1.0), Some(3.0))
        );
        assert!(lines(&r, MetricsMode::Off, 1).is_empty());
        assert!(lines(&report(&[]), MetricsMode::On, 1).is_empty(), "an invocation that looked at no project");
    }
}
