//! cache-pruner's metrics: one line per run that pruned (a sweep or a build's location): what it
//! deleted, what it listed, what it found outside every cache location, and the orphans.

use super::MetricsMode;
use super::catalogue::{BYTES_DELETED, BYTES_LISTED, FUNCTION, OBJECTS_DELETED, ORPHANED_LOCATIONS, UNMANAGED_BYTES};
use super::emf::MetricLine;
use crate::pruner::report::PruneReport;
use crate::pruner::scope::LocationState;

pub fn lines(report: &PruneReport, mode: MetricsMode, timestamp_ms: i64) -> Vec<MetricLine> {
    // A run that was refused, ignored or skipped listed nothing: no figures to chart.
    if mode == MetricsMode::Off
        || report.refused.is_some()
        || report.ignored.is_some()
        || report.skipped.is_some()
        || report.bucket_refused.is_some()
    {
        return vec![];
    }
    // A dry run's deletions are its plan.
    let (objects, bytes) = if report.dry_run {
        (report.plan.planned, report.plan.bytes_planned)
    } else {
        (report.outcome.deleted, report.outcome.bytes_freed)
    };
    let orphans = report.locations.values().filter(|l| matches!(l.state, LocationState::Orphaned { .. })).count();
    let mut line = MetricLine::new(timestamp_ms)
        .dimension(FUNCTION, "cache-pruner")
        .dimension_set(&[FUNCTION])
        .metric(&OBJECTS_DELETED, objects as f64)
        .metric(&BYTES_DELETED, bytes as f64)
        .metric(&BYTES_LISTED, report.plan.bytes_scanned as f64)
        .metric(&ORPHANED_LOCATIONS, orphans as f64)
        .property("Trigger", report.trigger)
        .property("DryRun", report.dry_run)
        .property("Bucket", report.bucket.clone());
    // Only a complete look at the rest of the bucket says how much is not cache.
    if let Some(unmanaged) = report.unmanaged.as_ref().filter(|u| u.complete) {
        line = line.metric(&UNMANAGED_BYTES, unmanaged.bytes as f64);
    }
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::tests::assert_valid_emf;
    use crate::pruner::notice::tests::sweep_report;

    #[test]
    fn a_sweeps_line_carries_what_it_deleted_listed_and_left() {
        // The sweep the pruner's notice snapshot shows: 2494 objects, 6.0 GiB freed of 6.8 GiB
        // listed, 3.0 GiB not cache, one orphaned location.
        let json = lines(&sweep_report(), MetricsMode::On, 1_764_000_000_000)[0].to_json();
        assert_valid_emf(&json);
        assert_eq!(json["Function"], "cache-pruner");
        assert_eq!(json["ObjectsDeleted"].as_f64(), Some(2494.0));
        assert_eq!(json["BytesDeleted"].as_f64(), Some(6_442_450_944.0));
        assert_eq!(json["BucketBytesListed"].as_f64(), Some(7_340_032_000.0));
        assert_eq!(json["UnmanagedBytes"].as_f64(), Some(3_221_225_472.0));
        assert_eq!(json["OrphanedLocations"].as_f64(), Some(1.0));
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Metrics"][1],
            serde_json::json!({"Name": "BytesDeleted", "Unit": "Bytes"})
        );
    }

    #[test]
    fn a_dry_run_counts_its_plan_and_a_partial_look_at_the_bucket_no_unmanaged_bytes() {
        let mut report = sweep_report();
        report.dry_run = true;
        report.outcome = Default::default();
        report.plan.bytes_planned = 1000;
        report.unmanaged.as_mut().unwrap().complete = false;
        let json = lines(&report, MetricsMode::On, 1)[0].to_json();
        assert_eq!((json["ObjectsDeleted"].as_f64(), json["BytesDeleted"].as_f64()), (Some(2494.0), Some(1000.0)));
        assert!(json.get("UnmanagedBytes").is_none(), "{json}");
        assert_eq!(json["DryRun"], true);
    }

    #[test]
    fn refused_skipped_and_off_emit_nothing() {
        for set in [
            |r: &mut PruneReport| r.refused = Some("lease held".into()),
            |r: &mut PruneReport| r.skipped = Some("another run".into()),
            |r: &mut PruneReport| r.ignored = Some("FAILED".into()),
            |r: &mut PruneReport| r.bucket_refused = Some("elsewhere".into()),
        ] {
            let mut report = sweep_report();
            set(&mut report);
            assert!(lines(&report, MetricsMode::On, 1).is_empty(), "{report:?}");
        }
        assert!(lines(&sweep_report(), MetricsMode::Off, 1).is_empty());
    }
}
