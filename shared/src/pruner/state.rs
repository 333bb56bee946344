//! The resume state: one small JSON object under the reserved prefix, so that a sweep stopped by
//! the deadline or the deletion cap continues where it stopped on the next run.

use super::plan::Carry;
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the state lives (never under the cache root's project prefixes; never pruned).
pub const STATE_KEY: &str = ".cache-sentinel/pruner/state.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    pub version: u32,
    /// The cache root the sweep walks; a state for another root is ignored.
    pub root: String,
    /// Continue the listing after this key; None = the last sweep finished.
    pub start_after: Option<String>,
    /// The project in progress at `start_after`, with its N newest objects so far.
    pub carry: Option<Carry>,
    /// When the sweep in progress started, and how many runs it has taken.
    pub sweep_started: DateTime<Utc>,
    pub runs: u32,
}

impl SweepState {
    pub const VERSION: u32 = 1;
}

/// Reads and writes the state object.
#[derive(Debug, Clone)]
pub struct StateStore {
    client: Client,
    bucket: String,
}

/// What reading the state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    None,
    State(SweepState),
    /// The object exists but cannot be used: the sweep starts over (safe: only progress is lost).
    Unreadable(String),
}

impl StateStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        StateStore { client, bucket: bucket.into() }
    }

    pub async fn load(&self) -> Result<Loaded, AwsError> {
        let out = match self.client.get_object().bucket(&self.bucket).key(STATE_KEY).send().await {
            Ok(out) => out,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(Loaded::None),
            Err(err) => {
                let err = AwsError::from_sdk("s3:GetObject", err);
                return if err.is(AwsErrorKind::NotFound) { Ok(Loaded::None) } else { Err(err) };
            }
        };
        let bytes = match out.body.collect().await {
            Ok(data) => data.into_bytes(),
            Err(e) => return Ok(Loaded::Unreadable(format!("cannot read the body: {e}"))),
        };
        Ok(match serde_json::from_slice::<SweepState>(&bytes) {
            Ok(state) if state.version == SweepState::VERSION => Loaded::State(state),
            Ok(state) => Loaded::Unreadable(format!("unknown state version {}", state.version)),
            Err(e) => Loaded::Unreadable(format!("invalid JSON: {e}")),
        })
    }

    pub async fn save(&self, state: &SweepState) -> Result<(), AwsError> {
        let body = serde_json::to_vec(state).map_err(|e| AwsError {
            operation: "s3:PutObject",
            kind: AwsErrorKind::InvalidInput,
            code: "Serialize".into(),
            message: e.to_string(),
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(STATE_KEY)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutObject", e))?;
        Ok(())
    }
}
