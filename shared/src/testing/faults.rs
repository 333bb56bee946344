//! The fault-injecting proxy (`scripts/faults/proxy.py`) for tests: started in front of the
//! emulator, with clients that go through it, and the counts of what it forwarded and faulted.

use crate::aws::Clients;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// What the proxy faults: a share of every operation's requests, per-operation overrides, and a
/// latency added to every request.
#[derive(Debug, Clone, Default)]
pub struct FaultSettings {
    pub rate: f64,
    pub seed: u64,
    pub latency_ms: u64,
    /// `service:Operation` -> rate, instead of `rate` for that operation.
    pub operation_rates: Vec<(String, f64)>,
}

impl FaultSettings {
    pub fn rate(rate: f64, seed: u64) -> Self {
        FaultSettings { rate, seed, ..Default::default() }
    }

    pub fn operation_rate(mut self, operation: &str, rate: f64) -> Self {
        self.operation_rates.push((operation.to_owned(), rate));
        self
    }
}

/// Requests of one operation the proxy forwarded to the emulator (carried out) and answered with a
/// fault itself (never carried out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ProxyCounts {
    pub forwarded: u64,
    pub faulted: u64,
}

/// A running proxy; stopped when dropped (and, should the test die, when its standard input closes).
pub struct FaultProxy {
    child: Child,
    _stdin: ChildStdin,
    pub endpoint: String,
}

impl FaultProxy {
    /// Starts the proxy in front of the emulator the tests use (`AWS_ENDPOINT_URL`).
    pub fn start(settings: &FaultSettings) -> Self {
        let upstream = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(
            upstream.starts_with("http://127.0.0.1") || upstream.starts_with("http://localhost"),
            "AWS_ENDPOINT_URL must point at the local emulator (got {upstream:?}); run the tests with `bash scripts/test.sh`"
        );
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/faults/proxy.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["--upstream", &upstream, "--exit-with-stdin"])
            .args(["--rate", &settings.rate.to_string(), "--seed", &settings.seed.to_string()])
            .args(["--latency-ms", &settings.latency_ms.to_string()]);
        for (operation, rate) in &settings.operation_rates {
            command.args(["--operation-rate", &format!("{operation}={rate}")]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/faults/proxy.py with python3");
        let stdin = child.stdin.take().expect("proxy stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("proxy stdout")).read_line(&mut line).expect("proxy output");
        let endpoint = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the fault proxy did not start: {line:?}"))
            .to_owned();
        FaultProxy { child, _stdin: stdin, endpoint }
    }

    /// Clients that go through the proxy: the production retry policy (5 attempts, standard mode)
    /// with short backoffs, so that a test with many faults stays fast.
    pub async fn clients(&self) -> Clients {
        let retries = RetryConfig::standard()
            .with_max_attempts(crate::aws::retry_config().max_attempts())
            .with_initial_backoff(Duration::from_millis(5))
            .with_max_backoff(Duration::from_millis(40));
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .retry_config(retries)
            .load()
            .await;
        Clients::from_sdk_config(sdk)
    }

    /// What the proxy forwarded and faulted, per `service:Operation`.
    pub fn counts(&self) -> BTreeMap<String, ProxyCounts> {
        #[derive(serde::Deserialize)]
        struct Counts {
            operations: BTreeMap<String, ProxyCounts>,
        }
        let body = self.control("GET", "/_faults/counts", "");
        serde_json::from_str::<Counts>(&body).expect("counts JSON").operations
    }

    /// Requests of one operation that reached the emulator.
    pub fn forwarded(&self, operation: &str) -> u64 {
        self.counts().get(operation).map_or(0, |c| c.forwarded)
    }

    /// Requests the proxy answered with a fault, over all operations.
    pub fn faulted(&self) -> u64 {
        self.counts().values().map(|c| c.faulted).sum()
    }

    /// Changes the settings of the running proxy (`{"rate": 0.2, "operation_rates": {...}}`).
    pub fn configure(&self, changes: serde_json::Value) {
        self.control("POST", "/_faults/config", &changes.to_string());
    }

    /// Zeroes the counts and the sequence numbers.
    pub fn reset(&self) {
        self.control("POST", "/_faults/reset", "");
    }

    fn control(&self, method: &str, path: &str, body: &str) -> String {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to the fault proxy");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request to the fault proxy");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response of the fault proxy");
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        assert!(head.starts_with("HTTP/1.1 200"), "fault proxy {method} {path}: {head}");
        body.to_owned()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
