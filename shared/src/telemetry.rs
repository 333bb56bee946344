//! Structured JSON logs, initialised once per process. Spans carry the project, build id and
//! action, so every line logged inside them says which project and build it is about.

use tracing_subscriber::EnvFilter;

/// JSON lines on stdout (CloudWatch Logs reads stdout). The level comes from `RUST_LOG`, else
/// Lambda's `AWS_LAMBDA_LOG_LEVEL`, else info.
pub fn init_json_logs() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_lowercase()))
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
