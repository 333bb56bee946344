//! A week of one account and region, per project: builds, slow builds, the minutes they ran over
//! their expected range and what those minutes cost at the project's compute type, where the cache
//! stands, the bytes the pruner freed, and one line of what to do; the worst projects first.
//!
//! Minutes over range: for each build over its scenario's range (`BuildRow::over_expected`), its
//! own time (net of queueing and provisioning, as the monitor judges it) less the range's upper
//! bound. Their cost: those minutes at the on-demand price a minute of the project's compute type
//! (`crate::compute`, whose sources it names: the AWS CodeBuild pricing page, or
//! `MONITOR_COMPUTE_PRICES`); unknown where the table has no price, and said so.

use crate::compute::{PriceUsed, Prices, price_of};
use crate::recent_builds::BuildRow;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where a project's cache stands, as the digest says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CacheLine {
    /// On the S3 cache, and its builds' records show it restored and saved.
    Effective,
    /// On the S3 cache, but the newest builds show it does not work: why.
    NotEffective { cause: String },
    /// Not on the S3 cache (`setting`): why (opted out, a refused heal, a heal still to come), and
    /// what to do about it.
    NotOnS3 { setting: String, why: String, todo: String },
    /// Off the S3 cache where LOCAL is right (a reserved-capacity fleet, a Docker server): why.
    OffS3ByDesign { setting: String, why: String },
    /// Not known, and why (no records yet, a call failed).
    Unknown { why: String },
}

impl CacheLine {
    /// Needs someone: a cache that does not work, or one off S3 the guard could not heal.
    pub(crate) fn needs_work(&self) -> bool {
        matches!(self, CacheLine::NotEffective { .. } | CacheLine::NotOnS3 { .. })
    }

    pub fn short(&self) -> String {
        match self {
            CacheLine::Effective => "effective".into(),
            CacheLine::NotEffective { cause } => format!("not effective: {cause}"),
            CacheLine::NotOnS3 { setting, why, .. } => format!("{setting}, not S3: {why}"),
            CacheLine::OffS3ByDesign { setting, why } => format!("{setting} by design: {why}"),
            CacheLine::Unknown { why } => format!("unknown: {why}"),
        }
    }
}

/// What is known of one project's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectWeek {
    pub project: String,
    /// The environment type and compute type of its newest build (None when unknown).
    pub environment: Option<String>,
    pub compute_type: Option<String>,
    /// Its builds that started within the week, judged.
    pub builds: Vec<BuildRow>,
    pub cache: CacheLine,
    /// What the pruner freed in its cache location this week; None when not known.
    pub bytes_pruned: Option<u64>,
}

/// One project's week, decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectLine {
    pub project: String,
    pub builds: usize,
    pub slow: usize,
    pub over_range: usize,
    pub minutes_over: f64,
    /// The cost of `minutes_over`; None when the compute type or its price is unknown.
    pub cost_usd: Option<f64>,
    pub price: Option<PriceUsed>,
    /// Why there is no cost, when there is none and minutes were over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_unknown: Option<String>,
    pub cache: CacheLine,
    pub bytes_pruned: Option<u64>,
    /// One line of what to do.
    pub todo: String,
}

/// The whole week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Worst first: minutes over range, then slow builds, then a cache that needs work.
    pub projects: Vec<ProjectLine>,
    pub builds: usize,
    pub slow: usize,
    pub minutes_over: f64,
    /// The cost of the minutes over range whose price is known.
    pub cost_usd: f64,
    /// Projects with minutes over range whose cost is not known.
    pub cost_unknown: usize,
    /// What the pruner freed in the window; None when it is not known (no project's figure read).
    pub bytes_pruned: Option<u64>,
    /// Projects in scope with no build in the window and nothing to do: counted, not listed.
    pub quiet: usize,
    /// What could not be read, said under the digest.
    pub notes: Vec<String>,
}

/// What to do about a project, in one line.
fn todo(line: &ProjectLine) -> String {
    match &line.cache {
        CacheLine::NotOnS3 { todo, .. } => todo.clone(),
        CacheLine::NotEffective { .. } => {
            "make the cache work: the slow-build emails name the cause and the fix".into()
        }
        CacheLine::OffS3ByDesign { setting, .. } if line.over_range > 0 => format!(
            "builds ran over on {setting}, which is right here: read the slow-build emails (fleet overflow, a Docker server's recycle)"
        ),
        CacheLine::OffS3ByDesign { .. } => "nothing to do".into(),
        _ if line.over_range > 0 => {
            "the cache works but builds ran over: read the slow-build emails (Dockerfile order, compute size)".into()
        }
        CacheLine::Unknown { why } => format!("nothing over range; cache not known ({why})"),
        _ => "nothing to do".into(),
    }
}

/// Decides the week of every project, worst first.
pub fn digest(weeks: Vec<ProjectWeek>, prices: &Prices, from: DateTime<Utc>, to: DateTime<Utc>) -> Digest {
    let mut projects: Vec<ProjectLine> = weeks.into_iter().map(|w| line(w, prices)).collect();
    projects.sort_by(|a, b| {
        b.minutes_over
            .total_cmp(&a.minutes_over)
            .then(b.slow.cmp(&a.slow))
            .then(b.cache.needs_work().cmp(&a.cache.needs_work()))
            .then(a.project.cmp(&b.project))
    });
    let over = |p: &&ProjectLine| p.minutes_over > 0.0;
    Digest {
        from,
        to,
        builds: projects.iter().map(|p| p.builds).sum(),
        slow: projects.iter().map(|p| p.slow).sum(),
        minutes_over: total(projects.iter().map(|p| p.minutes_over)),
        cost_usd: total(projects.iter().filter_map(|p| p.cost_usd)),
        cost_unknown: projects.iter().filter(over).filter(|p| p.cost_usd.is_none()).count(),
        bytes_pruned: projects.iter().filter_map(|p| p.bytes_pruned).reduce(|a, b| a + b),
        quiet: 0,
        notes: vec![],
        projects,
    }
}

/// A sum that is 0.0 when empty: `Sum for f64` starts at -0.0, which sorts below 0.0.
fn total(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |sum, v| sum + v)
}

fn line(week: ProjectWeek, prices: &Prices) -> ProjectLine {
    let minutes = total(week.builds.iter().map(|b| b.minutes_over_range));
    let (price, cost_unknown) = match price_of(week.environment.as_deref(), week.compute_type.as_deref(), prices) {
        Ok(p) => (Some(p), None),
        Err(why) => (None, Some(why)),
    };
    let mut line = ProjectLine {
        project: week.project,
        builds: week.builds.len(),
        slow: week.builds.iter().filter(|b| b.slow).count(),
        over_range: week.builds.iter().filter(|b| b.minutes_over_range > 0.0).count(),
        minutes_over: minutes,
        cost_usd: price.as_ref().map(|p| minutes * p.usd_per_minute),
        price,
        cost_unknown: cost_unknown.filter(|_| minutes > 0.0),
        cache: week.cache,
        bytes_pruned: week.bytes_pruned,
        todo: String::new(),
    };
    line.todo = todo(&line);
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::BuildStatus;
    use crate::monitor::expected::Range;
    use crate::monitor::scenario::Scenario;
    use chrono::TimeZone;

    pub(crate) fn week_start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
    }

    /// A SUCCEEDED build of `own_minutes` own time judged against 5-8 minutes.
    pub(crate) fn build(day: i64, own_minutes: u64) -> BuildRow {
        let range = Range::new(5.0, 8.0);
        let over = own_minutes as f64 > range.high_minutes;
        BuildRow {
            build_id: format!("p:{day}-{own_minutes}"),
            build_number: Some(day as u64),
            status: BuildStatus::Succeeded,
            start: Some(week_start() + chrono::Duration::days(day)),
            duration_seconds: Some(own_minutes * 60 + 45),
            judged_seconds: Some(own_minutes * 60),
            queued_seconds: Some(30),
            scenario: Scenario::NoChange,
            scenario_reason: "same source as the build before".into(),
            expected: range,
            expected_from: "no_change".into(),
            over_expected: over,
            over_baseline: over,
            slow: over,
            summary: String::new(),
            log: None,
            from_log: None,
            environment_type: Some("LINUX_CONTAINER".into()),
            compute_type: Some("BUILD_GENERAL1_LARGE".into()),
            minutes_over_range: (own_minutes as f64 - 8.0).max(0.0),
            cost_over_usd: None,
        }
    }

    pub(crate) fn week(project: &str, compute: Option<&str>, minutes: &[u64], cache: CacheLine) -> ProjectWeek {
        ProjectWeek {
            project: project.into(),
            environment: Some("LINUX_CONTAINER".into()),
            compute_type: compute.map(str::to_owned),
            builds: minutes.iter().enumerate().map(|(d, m)| build(d as i64, *m)).collect(),
            cache,
            bytes_pruned: Some(1 << 30),
        }
    }

    #[test]
    fn minutes_over_range_and_their_cost_are_exact_and_the_worst_come_first() {
        let weeks = vec![
            week("quiet", Some("BUILD_GENERAL1_SMALL"), &[6, 7], CacheLine::Effective),
            // 25 - 8 = 17 and 12 - 8 = 4 minutes over: 21 minutes at $0.02 = $0.42.
            week(
                "tts",
                Some("BUILD_GENERAL1_LARGE"),
                &[25, 12, 6],
                CacheLine::NotEffective { cause: "nothing restored".into() },
            ),
            // xlarge has no price in the table: minutes counted, cost unknown and said why.
            week("big", Some("BUILD_GENERAL1_XLARGE"), &[10], CacheLine::Effective),
        ];
        let d = digest(weeks, &Prices::EMPTY, week_start(), week_start() + chrono::Duration::days(7));
        let order: Vec<&str> = d.projects.iter().map(|p| p.project.as_str()).collect();
        assert_eq!(order, ["tts", "big", "quiet"]);
        let tts = &d.projects[0];
        assert_eq!((tts.builds, tts.slow, tts.over_range), (3, 2, 2));
        assert!((tts.minutes_over - 21.0).abs() < 1e-9 && (tts.cost_usd.unwrap() - 0.42).abs() < 1e-9, "{tts:?}");
        assert!(tts.todo.starts_with("make the cache work"), "{}", tts.todo);
        let big = &d.projects[1];
        assert_eq!(big.cost_usd, None);
        assert!(big.cost_unknown.as_deref().is_some_and(|w| w.contains("general1.xlarge")), "{big:?}");
        assert_eq!((d.builds, d.slow, d.cost_unknown), (6, 3, 1));
        assert!((d.minutes_over - 23.0).abs() < 1e-9 && (d.cost_usd - 0.42).abs() < 1e-9, "{d:?}");
        assert_eq!(d.bytes_pruned, Some(3 << 30));
        assert_eq!(d.projects[2].todo, "nothing to do");
        // A price set by MONITOR_COMPUTE_PRICES is used and said to be.
        let prices = Prices::parse_json(r#"{"general1.xlarge": 0.04}"#).unwrap();
        let weeks = vec![week("big", Some("BUILD_GENERAL1_XLARGE"), &[10], CacheLine::Effective)];
        let d = digest(weeks, &prices, week_start(), week_start() + chrono::Duration::days(7));
        assert!((d.cost_usd - 0.08).abs() < 1e-9);
        assert!(d.projects[0].price.as_ref().is_some_and(|p| p.from_variable));
    }
}
