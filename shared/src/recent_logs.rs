//! What the logs of a project's recent builds show (`cache-sentinel report --logs`): for each build,
//! the causes its log names (`monitor::log::causes`), the Dockerfile lines that defeat the cache
//! (`monitor::log::layer_order`) and what the cache's own work took
//! (`monitor::log::cache_cost`), read with the monitor's reader within its bounds. A log that
//! cannot be read is said for that build; the others go on.

use crate::aws::logs::{BuildLogs, LogReadLimits};
use crate::monitor::collect::scan_log;
use crate::monitor::log::cache_cost::CacheCost;
use crate::monitor::log::causes::Cause;
use crate::monitor::log::layer_order::OrderFinding;
use crate::recent_builds::BuildRow;
use futures::StreamExt;
use serde::Serialize;

/// Logs read at once.
const CONCURRENCY: usize = 4;

/// What one build's log shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogFindings {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    #[serde(skip_serializing_if = "CacheCost::is_empty")]
    pub cost: CacheCost,
    /// The Dockerfile lines its log shows defeating the cache (`monitor::log::layer_order`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layer_order: Vec<OrderFinding>,
    /// Why the log was not read (no stream, logging off, denied, missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

impl LogFindings {
    fn unread(why: String) -> Self {
        LogFindings { causes: vec![], cost: CacheCost::default(), layer_order: vec![], unread: Some(why) }
    }
}

/// Reads the log of each row (at most `CONCURRENCY` at a time) and records what it shows.
pub async fn read_logs(logs: &BuildLogs, rows: &mut [BuildRow], limits: LogReadLimits) {
    let found: Vec<LogFindings> = futures::stream::iter(rows.iter())
        .map(|row| async move {
            let Some((group, stream)) = row.log.clone() else {
                return LogFindings::unread("CodeBuild names no CloudWatch log stream for it".into());
            };
            match scan_log(logs, &group, &stream, limits).await {
                Ok((_, e)) => LogFindings {
                    causes: e.causes,
                    cost: e.cost,
                    layer_order: e.docker.map(|d| d.order).unwrap_or_default(),
                    unread: None,
                },
                Err(e) => LogFindings::unread(format!("{group}/{stream}: {e}")),
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (row, found) in rows.iter_mut().zip(found) {
        row.from_log = Some(found);
    }
}
