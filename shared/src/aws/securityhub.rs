//! AWS Security Hub: BatchImportFindings, BatchUpdateFindings (a resolved finding's workflow) and
//! GetFindings (tests read back what is there), as signed REST-JSON requests (`POST
//! /findings/import`, `PATCH /findings/batchupdate`, `POST /findings`).
//!
//! Not through the SDK's Security Hub crate: its generated model of every ASFF resource type would
//! add megabytes to each function (their stripped binaries must stay under 8 MB) for two calls
//! whose JSON cache-sentinel writes itself (`findings::asff`). The requests are signed with SigV4
//! (`aws-sigv4`, the SDK's own signer) with the SDK configuration's credentials, and sent over
//! hyper with rustls, the same stack the SDK uses.
//!
//! Batches hold at most 100 findings (the API's limit). Throttling (429) and 5xx answers are
//! retried with backoff, and calls are spaced to stay under BatchImportFindings' 10 requests a
//! second. A finding Security Hub refuses in a 200 answer (`FailedFindings`) is returned, never
//! dropped.

use crate::error::{AwsError, AwsErrorKind};
use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;

/// BatchImportFindings takes at most 100 findings a request.
pub const BATCH_LIMIT: usize = 100;
/// BatchImportFindings' rate: 10 requests a second (Security Hub's service quotas); one request per
/// 100 ms from one client stays within it.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const ATTEMPTS: u32 = 5;
const IMPORT: &str = "securityhub:BatchImportFindings";
const GET: &str = "securityhub:GetFindings";
const UPDATE: &str = "securityhub:BatchUpdateFindings";

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A finding Security Hub refused, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailedFinding {
    pub id: String,
    pub code: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub imported: usize,
    pub failed: Vec<FailedFinding>,
    pub requests: usize,
}

/// A Security Hub client of one account and region; built once, shared by invocations.
#[derive(Clone)]
pub struct SecurityHub {
    http: Client<Https, Full<bytes::Bytes>>,
    credentials: Option<SharedCredentialsProvider>,
    region: String,
    endpoint: String,
    last_call: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for SecurityHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHub").field("region", &self.region).field("endpoint", &self.endpoint).finish()
    }
}

/// The endpoint: `AWS_ENDPOINT_URL_SECURITYHUB`, the configuration's `AWS_ENDPOINT_URL`, else
/// `https://securityhub.<region>.<partition's domain>`.
pub fn endpoint(sdk_endpoint: Option<&str>, service_endpoint: Option<&str>, region: &str) -> String {
    if let Some(url) = service_endpoint.or(sdk_endpoint) {
        return url.trim_end_matches('/').to_owned();
    }
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://securityhub.{region}.{domain}")
}

impl SecurityHub {
    pub fn new(sdk: &SdkConfig) -> Result<Self, AwsError> {
        let region = sdk.region().map(|r| r.as_ref().to_owned()).unwrap_or_else(|| super::DEFAULT_REGION.into());
        let service = std::env::var("AWS_ENDPOINT_URL_SECURITYHUB").ok().filter(|v| !v.is_empty());
        let endpoint = endpoint(sdk.endpoint_url(), service.as_deref(), &region);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| local_error("TlsSetup", e))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.with_native_roots_or_empty())
            .https_or_http()
            .enable_http1()
            .build();
        Ok(SecurityHub {
            http: Client::builder(TokioExecutor::new()).build(connector),
            credentials: sdk.credentials_provider(),
            region,
            endpoint,
            last_call: Arc::new(Mutex::new(None)),
        })
    }

    /// The client when SECURITY_HUB_FINDINGS is on; a client that cannot be built (its TLS setup)
    /// is logged and means no findings, never a function that does not start.
    pub fn when_enabled(enabled: bool, sdk: &SdkConfig) -> Option<Self> {
        if !enabled {
            return None;
        }
        SecurityHub::new(sdk)
            .map_err(
                |e| tracing::error!(action = "cold-start", error = %e, "Security Hub client not built: no findings"),
            )
            .ok()
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Imports `findings` (ASFF JSON) in batches of 100.
    pub async fn import(&self, findings: &[Value]) -> Result<Imported, AwsError> {
        let mut out = Imported::default();
        for batch in findings.chunks(BATCH_LIMIT) {
            let answer = self.call(IMPORT, "POST", "/findings/import", &json!({"Findings": batch})).await?;
            out.requests += 1;
            out.imported += answer["SuccessCount"].as_u64().unwrap_or(0) as usize;
            for failed in answer["FailedFindings"].as_array().into_iter().flatten() {
                let text = |field: &str| failed[field].as_str().unwrap_or_default().to_owned();
                out.failed.push(FailedFinding {
                    id: text("Id"),
                    code: text("ErrorCode"),
                    message: text("ErrorMessage"),
                });
            }
        }
        Ok(out)
    }

    /// Sets the workflow of these findings (`Id`, `ProductArn`) to RESOLVED, by 100
    /// (BatchUpdateFindings: a finding provider's BatchImportFindings cannot change a finding's
    /// workflow once it exists). Returns the findings it could not update, with the reason.
    pub async fn resolve(&self, findings: &[(String, String)]) -> Result<Vec<FailedFinding>, AwsError> {
        let mut failed = Vec::new();
        for batch in findings.chunks(BATCH_LIMIT) {
            let ids: Vec<Value> = batch.iter().map(|(id, product)| json!({"Id": id, "ProductArn": product})).collect();
            let body = json!({"FindingIdentifiers": ids, "Workflow": {"Status": "RESOLVED"}});
            let answer = self.call(UPDATE, "PATCH", "/findings/batchupdate", &body).await?;
            for unprocessed in answer["UnprocessedFindings"].as_array().into_iter().flatten() {
                let text = |field: &str| unprocessed[field].as_str().unwrap_or_default().to_owned();
                let id = unprocessed["FindingIdentifier"]["Id"].as_str().unwrap_or_default().to_owned();
                failed.push(FailedFinding { id, code: text("ErrorCode"), message: text("ErrorMessage") });
            }
        }
        Ok(failed)
    }

    /// The findings that match `filters` (GetFindings' filter object), every page.
    pub async fn get_findings(&self, filters: &Value) -> Result<Vec<Value>, AwsError> {
        let (mut out, mut token) = (Vec::new(), None::<String>);
        loop {
            let mut body = json!({"Filters": filters, "MaxResults": 100});
            if let Some(t) = &token {
                body["NextToken"] = json!(t);
            }
            let answer = self.call(GET, "POST", "/findings", &body).await?;
            out.extend(answer["Findings"].as_array().cloned().unwrap_or_default());
            match answer["NextToken"].as_str().filter(|t| !t.is_empty()) {
                Some(next) if Some(next) != token.as_deref() => token = Some(next.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// One signed POST, retried on throttling and 5xx, spaced by `MIN_INTERVAL`.
    async fn call(&self, op: &'static str, method: &'static str, path: &str, body: &Value) -> Result<Value, AwsError> {
        let payload = serde_json::to_vec(body)
            .map_err(|e| AwsError::new(op, AwsErrorKind::InvalidInput, "Serialize", e.to_string()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace().await;
            let request = self.signed(op, method, path, &payload).await?;
            let result = self.http.request(request).await;
            let (status, text) = match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    (status, String::from_utf8_lossy(&bytes).into_owned())
                }
                Err(e) if attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                    tracing::warn!(action = "securityhub", operation = op, error = %e, "request failed: retrying");
                    continue;
                }
                Err(e) => return Err(AwsError::new(op, AwsErrorKind::Unreachable, "RequestFailed", e.to_string())),
            };
            if (200..300).contains(&status) {
                return serde_json::from_str(&text)
                    .map_err(|e| AwsError::new(op, AwsErrorKind::Service, "UnreadableAnswer", e.to_string()));
            }
            let error = service_error(op, status, &text);
            if error.is_transient() && attempt < ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Err(error);
        }
    }

    async fn signed(
        &self,
        op: &'static str,
        method: &'static str,
        path: &str,
        payload: &[u8],
    ) -> Result<http::Request<Full<bytes::Bytes>>, AwsError> {
        let uri = format!("{}{path}", self.endpoint);
        let mut request = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::copy_from_slice(payload)))
            .map_err(|e| AwsError::new(op, AwsErrorKind::InvalidInput, "BadRequest", e.to_string()))?;
        let Some(provider) = &self.credentials else {
            return Err(AwsError::new(
                op,
                AwsErrorKind::AccessDenied,
                "NoCredentials",
                "no AWS credentials configured",
            ));
        };
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| AwsError::new(op, AwsErrorKind::AccessDenied, "NoCredentials", e.to_string()))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("securityhub")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| local_error("Signing", e))?
            .into();
        let headers = [("content-type", "application/json")];
        let signable = SignableRequest::new(method, &uri, headers.into_iter(), SignableBody::Bytes(payload))
            .map_err(|e| local_error("Signing", e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| local_error("Signing", e))?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }

    async fn pace(&self) {
        let mut last = self.last_call.lock().await;
        if let Some(at) = *last {
            let wait = MIN_INTERVAL.saturating_sub(at.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        *last = Some(Instant::now());
    }
}

trait NativeRoots {
    fn with_native_roots_or_empty(self) -> rustls::ClientConfig;
}

impl NativeRoots for rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
    /// The system's trust store (Lambda's images carry one); an empty one if none loads, so that an
    /// HTTPS call fails with a certificate error that names the cause instead of a panic.
    fn with_native_roots_or_empty(self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        self.with_root_certificates(roots).with_no_client_auth()
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(6)))
}

fn local_error(code: &str, e: impl std::fmt::Display) -> AwsError {
    AwsError::new("securityhub", AwsErrorKind::InvalidInput, code, e.to_string())
}

/// A non-2xx answer as an error: Security Hub's REST-JSON errors carry `__type` or `Code` and
/// `Message`; 429 is throttling, 5xx transient, 403 a refusal.
pub fn service_error(op: &'static str, status: u16, body: &str) -> AwsError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = parsed["__type"]
        .as_str()
        .or_else(|| parsed["Code"].as_str())
        .map(|c| c.rsplit('#').next().unwrap_or(c).to_owned())
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = parsed["Message"].as_str().or_else(|| parsed["message"].as_str()).unwrap_or(body).to_owned();
    let kind = match status {
        429 => AwsErrorKind::Throttled,
        500..=599 => AwsErrorKind::Service,
        401 | 403 => AwsErrorKind::AccessDenied,
        404 => AwsErrorKind::NotFound,
        _ => AwsErrorKind::InvalidInput,
    };
    AwsError::new(op, kind, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_override_or_the_regions() {
        assert_eq!(endpoint(None, None, "ap-south-1"), "https://securityhub.ap-south-1.amazonaws.com");
        assert_eq!(endpoint(None, None, "cn-north-1"), "https://securityhub.cn-north-1.amazonaws.com.cn");
        assert_eq!(endpoint(Some("http://127.0.0.1:5000/"), None, "ap-south-1"), "http://127.0.0.1:5000");
        assert_eq!(endpoint(Some("http://a"), Some("http://b"), "ap-south-1"), "http://b");
    }

    #[test]
    fn errors_are_classified_by_status_and_named_by_their_code() {
        let e = service_error(
            "securityhub:BatchImportFindings",
            429,
            r#"{"__type":"TooManyRequestsException","Message":"slow down"}"#,
        );
        assert!(e.is_transient() && e.code == "TooManyRequestsException" && e.message == "slow down", "{e:?}");
        let e = service_error(
            "securityhub:BatchImportFindings",
            403,
            r#"{"Code":"AccessDeniedException","Message":"not subscribed"}"#,
        );
        assert!(e.is(AwsErrorKind::AccessDenied) && !e.is_transient(), "{e:?}");
        let e = service_error("securityhub:GetFindings", 503, "<html>unavailable</html>");
        assert!(e.is_transient() && e.code == "HTTP503", "{e:?}");
        let e = service_error("securityhub:GetFindings", 400, r#"{"__type":"InvalidInputException","Message":"bad"}"#);
        assert!(e.is(AwsErrorKind::InvalidInput) && !e.is_transient(), "{e:?}");
    }
}
