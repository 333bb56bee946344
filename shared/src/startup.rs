//! Cold start: timing, and reporting a failed start (bad configuration) to Lambda.
//!
//! A function whose configuration is invalid must say so at cold start, naming the variable, in
//! the logs and in the Lambda console. Lambda learns the cause through the Runtime API's
//! `/runtime/init/error`; lambda_runtime reports its own init failures there but offers no call for
//! ours, so this posts it (plain HTTP to the local Runtime API endpoint).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Logs a failed cold start, reports it to the Runtime API when running under one, and returns
/// the error for `main` to return (the process then exits non-zero).
pub fn init_failed<E>(function: &str, err: E) -> BoxError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let message = err.to_string();
    tracing::error!(function, action = "cold-start", error = %message, "cold start failed");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
        && let Err(e) = report_init_error(&api, "Runtime.ConfigError", &message)
    {
        tracing::warn!(function, action = "cold-start", error = %e, "could not report the init error to the Runtime API");
    }
    Box::new(err)
}

/// POST /2018-06-01/runtime/init/error with Lambda's error document.
pub fn report_init_error(api: &str, error_type: &str, message: &str) -> std::io::Result<()> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type }).to_string();
    let mut stream = TcpStream::connect(api)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nLambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // Read the status line so the request is complete before the process exits.
    let mut status = [0u8; 12];
    let _ = stream.read(&mut status)?;
    Ok(())
}

/// Logs that cold start is done (configuration parsed, clients built) and how long it took,
/// measured from `started` (taken first thing in `main`). `scripts/bench-functions.sh` reads it.
pub fn log_cold_start(function: &str, started: Instant) {
    tracing::info!(
        function,
        action = "cold-start",
        init_us = started.elapsed().as_micros() as u64,
        "configuration and clients ready"
    );
}
