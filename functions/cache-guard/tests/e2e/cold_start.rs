//! A configuration error stops the function at cold start, names the variable in the logs, and is
//! reported to Lambda through the Runtime API's /runtime/init/error.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

#[test]
fn bad_configuration_fails_at_cold_start_naming_the_variable() {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = api.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = api.accept().unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = conn.read(&mut buf) {
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
        conn.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
        String::from_utf8_lossy(&request).to_string()
    });

    let out = Command::new(env!("CARGO_BIN_EXE_cache-guard"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_REGION", "ap-south-1")
        .env("DRY_RUN", "maybe")
        .output()
        .unwrap();
    assert!(!out.status.success(), "must not start with a bad DRY_RUN");
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(logs.contains("DRY_RUN"), "logs must name the variable: {logs}");

    let request = server.join().unwrap();
    assert!(request.starts_with("POST /2018-06-01/runtime/init/error "), "{request}");
    assert!(request.contains("Lambda-Runtime-Function-Error-Type: Runtime.ConfigError"), "{request}");
    assert!(request.contains("environment variable DRY_RUN"), "{request}");
}
