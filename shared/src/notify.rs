//! Notices: what subscribers read. SNS documents a subject as "less than 100 characters" of
//! printable ASCII without line breaks, and a message as at most 256 KB; a notice enforces both
//! when it is built.

use std::collections::BTreeMap;

/// "Less than 100 characters": at most 99.
pub const SUBJECT_LIMIT: usize = 99;
pub const MESSAGE_LIMIT: usize = 256 * 1024;

/// How urgent a notice is, as a message attribute subscribers can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One message to subscribers: subject, plain-text body, and filterable attributes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    subject: String,
    body: String,
    attributes: BTreeMap<String, String>,
}

impl Notice {
    pub fn new(subject: &str, body: &str, severity: Severity) -> Self {
        let mut attributes = BTreeMap::new();
        attributes.insert("severity".to_owned(), severity.as_str().to_owned());
        Notice { subject: sanitize_subject(subject), body: truncate_body(body), attributes }
    }

    /// Adds a message attribute (empty values are skipped: SNS rejects them).
    pub fn with_attribute(mut self, name: &str, value: &str) -> Self {
        if !value.is_empty() {
            self.attributes.insert(name.to_owned(), value.to_owned());
        }
        self
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn body(&self) -> &str {
        &self.body
    }

    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }
}

/// Where a notice comes from: the account and region of the deployment that sent it. On a central
/// topic (an organisation's, docs/org.md) one subscription sees every account's notices, so each
/// names its origin in message attributes (`account`, `region`: subscription filter policies can
/// select on them) and, there, at the start of its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub account: Option<String>,
    pub region: String,
}

impl Notice {
    /// The notice as sent from `origin`: its attributes name the account (when known) and the
    /// region; with `in_subject`, the subject starts with `[<account> <region>] `, and is cut to
    /// SNS's limit after that, so the origin always shows.
    pub fn from_origin(&self, origin: &Origin, in_subject: bool) -> Notice {
        let mut notice = self.clone().with_attribute("region", &origin.region);
        if let Some(account) = &origin.account {
            notice = notice.with_attribute("account", account);
        }
        if in_subject {
            let at = match &origin.account {
                Some(account) => format!("[{account} {}]", origin.region),
                None => format!("[{}]", origin.region),
            };
            notice.subject = sanitize_subject(&format!("{at} {}", self.subject));
        }
        notice
    }
}

/// Printable ASCII only, white space folded to single spaces, at most 99 characters (cut with "...").
pub fn sanitize_subject(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(SUBJECT_LIMIT));
    let mut last_space = true;
    for c in raw.chars() {
        let c = match c {
            c if c.is_whitespace() => ' ',
            '\u{2013}' | '\u{2014}' => '-',
            '\u{2265}' => '>',
            c if c.is_ascii_graphic() => c,
            _ => '?',
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let mut out = out.trim_end().to_owned();
    if out.len() > SUBJECT_LIMIT {
        out.truncate(SUBJECT_LIMIT - 3);
        out = format!("{}...", out.trim_end());
    }
    if out.is_empty() { "cache-sentinel notice".to_owned() } else { out }
}

fn truncate_body(body: &str) -> String {
    if body.len() <= MESSAGE_LIMIT {
        return body.to_owned();
    }
    let marker = "\n[message truncated to fit SNS's 256 KB limit]\n";
    let mut end = MESSAGE_LIMIT - marker.len();
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_fit_sns_rules() {
        let s = sanitize_subject("Build slow:\n tts-service-build — 31 min ≥ 12 min\t✓");
        assert_eq!(s, "Build slow: tts-service-build - 31 min > 12 min ?");
        let long = sanitize_subject(&"x".repeat(300));
        assert_eq!(long.len(), 99);
        let exactly = "y".repeat(99);
        assert_eq!(sanitize_subject(&exactly), exactly, "99 characters fit as they are");
        assert_eq!(sanitize_subject(&"z".repeat(100)).len(), 99);
        assert!(long.ends_with("..."));
        assert!(long.chars().all(|c| c.is_ascii_graphic() || c == ' '));
        assert_eq!(sanitize_subject(" \n "), "cache-sentinel notice");
    }

    #[test]
    fn bodies_fit_sns_limit() {
        let body = "é".repeat(200_000);
        let n = Notice::new("s", &body, Severity::Info);
        assert!(n.body().len() <= MESSAGE_LIMIT);
        assert!(n.body().ends_with("limit]\n"));
    }

    #[test]
    fn a_notice_names_its_origin_in_attributes_and_on_request_first_in_its_subject() {
        let notice = Notice::new(&format!("Build slow: {}", "x".repeat(120)), "b", Severity::Warning);
        let origin = Origin { account: Some("111111111111".into()), region: "eu-west-1".into() };
        let sent = notice.from_origin(&origin, true);
        assert!(sent.subject().starts_with("[111111111111 eu-west-1] Build slow: xxx"), "{}", sent.subject());
        assert_eq!(sent.subject().len(), SUBJECT_LIMIT, "still within SNS's limit");
        assert_eq!(sent.attributes().get("account").map(String::as_str), Some("111111111111"));
        assert_eq!(sent.attributes().get("region").map(String::as_str), Some("eu-west-1"));
        assert_eq!(sent.attributes().get("severity").map(String::as_str), Some("warning"));
        let plain = notice.from_origin(&origin, false);
        assert_eq!(plain.subject(), notice.subject(), "the subject as it was");
        assert_eq!(plain.attributes().get("account").map(String::as_str), Some("111111111111"));
        let unknown = Origin { account: None, region: "eu-west-1".into() };
        let sent = Notice::new("s", "b", Severity::Info).from_origin(&unknown, true);
        assert_eq!(sent.subject(), "[eu-west-1] s");
        assert!(!sent.attributes().contains_key("account"));
    }

    #[test]
    fn attributes_skip_empty_values() {
        let n = Notice::new("s", "b", Severity::Warning).with_attribute("project", "p").with_attribute("empty", "");
        assert_eq!(n.attributes().get("severity").map(String::as_str), Some("warning"));
        assert_eq!(n.attributes().get("project").map(String::as_str), Some("p"));
        assert!(!n.attributes().contains_key("empty"));
    }
}
