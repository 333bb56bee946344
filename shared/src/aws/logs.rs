//! CloudWatch Logs adapter: reads one build's log stream with GetLogEvents, page by page, bounded
//! in pages and bytes, handing each event to the caller and keeping none. When the bound stops the
//! read before the end, one more page is read from the end of the stream (CodeBuild's last lines:
//! the cache upload), so a long log costs at most `max_pages + 1` calls.

use crate::error::AwsError;
use aws_sdk_cloudwatchlogs::Client;

/// GetLogEvents returns at most 10,000 events (and 1 MB) a page.
pub const PAGE_EVENTS: i32 = 10_000;

/// How much of a log one read may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogReadLimits {
    pub max_pages: u32,
    /// Message bytes read from the head before stopping (checked after each page).
    pub max_bytes: u64,
}

/// What one read took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LogRead {
    pub pages: u32,
    pub events: u64,
    pub bytes: u64,
    /// The whole stream was read from the head.
    pub complete: bool,
    /// The read stopped at its bound and the last page was read from the end.
    pub tail_read: bool,
}

#[derive(Debug, Clone)]
pub struct BuildLogs {
    client: Client,
}

impl BuildLogs {
    pub fn new(client: Client) -> Self {
        BuildLogs { client }
    }

    /// Reads `group`/`stream` from the head within `limits`, calling `head` for every event
    /// (message, epoch ms), then, if the bound stopped it, `tail` for the events of the stream's
    /// last page that are newer than the last one read.
    pub async fn read(
        &self,
        group: &str,
        stream: &str,
        limits: LogReadLimits,
        mut head: impl FnMut(&str, i64),
        mut tail: impl FnMut(&str, i64),
    ) -> Result<LogRead, AwsError> {
        let mut read = LogRead { pages: 0, events: 0, bytes: 0, complete: false, tail_read: false };
        let mut token: Option<String> = None;
        let mut last_timestamp = i64::MIN;
        while read.pages < limits.max_pages && read.bytes < limits.max_bytes {
            let page = self
                .client
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(true)
                .limit(PAGE_EVENTS)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("logs:GetLogEvents", e))?;
            read.pages += 1;
            for event in page.events() {
                let message = event.message().unwrap_or_default();
                let timestamp = event.timestamp().unwrap_or(0);
                read.events += 1;
                read.bytes += message.len() as u64;
                last_timestamp = last_timestamp.max(timestamp);
                head(message, timestamp);
            }
            // The end of the stream: GetLogEvents returns the token it was given (AWS documents it;
            // pages may be empty before that, so an empty page alone is not the end).
            match page.next_forward_token() {
                Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
                _ => {
                    read.complete = true;
                    return Ok(read);
                }
            }
        }
        let page = self
            .client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(false)
            .limit(PAGE_EVENTS)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("logs:GetLogEvents", e))?;
        read.pages += 1;
        read.tail_read = true;
        for event in page.events().iter().filter(|e| e.timestamp().unwrap_or(0) >= last_timestamp) {
            let message = event.message().unwrap_or_default();
            read.events += 1;
            read.bytes += message.len() as u64;
            tail(message, event.timestamp().unwrap_or(0));
        }
        Ok(read)
    }
}
