//! SNS adapter: publishes notices to the configured topic, which may be the stack's own or a
//! central topic in another account and region (docs/org.md): the client is pointed at the
//! topic's region (SNS answers for a topic only at its own region's endpoint), and every notice
//! names its origin (`notify::Origin`).

use crate::error::AwsError;
use crate::notify::{Notice, Origin};
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: Client,
    topic_arn: Option<String>,
    /// The deployment's region (its clients'), and its account once an event has named it (the
    /// Lambdas learn it from their events, the command line from STS).
    region: String,
    account: Arc<Mutex<Option<String>>>,
    /// NOTIFY_NAME_ORIGIN: every subject starts with the account and region (a topic the
    /// organisation publishes to). A topic of another account or region gets them regardless.
    name_origin: bool,
}

/// The region and account of a topic ARN (`arn:<partition>:sns:<region>:<account>:<name>`).
fn topic_place(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 6 && parts[2] == "sns").then(|| (parts[3], parts[4]))
}

impl SnsPublisher {
    pub fn new(client: Client, topic_arn: Option<String>) -> Self {
        let region = client.config().region().map(|r| r.as_ref().to_owned()).unwrap_or_default();
        let client = match topic_arn.as_deref().and_then(topic_place) {
            Some((topic_region, _)) if !region.is_empty() && topic_region != region => Client::from_conf(
                client.config().to_builder().region(aws_sdk_sns::config::Region::new(topic_region.to_owned())).build(),
            ),
            _ => client,
        };
        SnsPublisher { client, topic_arn, region, account: Arc::new(Mutex::new(None)), name_origin: false }
    }

    /// NOTIFY_NAME_ORIGIN.
    pub fn naming_origin(mut self, on: bool) -> Self {
        self.name_origin = on;
        self
    }

    /// The deployment's account, from the event being handled (None leaves what is known).
    pub fn know_account(&self, account: Option<&str>) {
        if let (Some(account), Ok(mut known)) = (account, self.account.lock()) {
            *known = Some(account.to_owned());
        }
    }

    pub fn topic_arn(&self) -> Option<&str> {
        self.topic_arn.as_deref()
    }

    /// Where notices come from, and whether their subjects say it: when asked to, or when the
    /// topic is another account's or region's (a central topic).
    pub fn origin(&self) -> (Origin, bool) {
        let account = self.account.lock().ok().and_then(|a| a.clone());
        let elsewhere = self.topic_arn.as_deref().and_then(topic_place).is_some_and(|(region, topic_account)| {
            region != self.region || account.as_deref().is_some_and(|a| a != topic_account)
        });
        (Origin { account, region: self.region.clone() }, self.name_origin || elsewhere)
    }

    /// Publishes the notice and logs what happened (the message id, or the error with the subject).
    pub async fn publish_logged(&self, notice: &Notice) -> Result<Option<String>, AwsError> {
        let result = self.publish(notice).await;
        match &result {
            Ok(Some(message_id)) => {
                tracing::info!(action = "notify", subject = %notice.subject(), message_id = %message_id, "notice published")
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(action = "notify", subject = %notice.subject(), error = %e, "could not publish the notice")
            }
        }
        result
    }

    /// Publishes the notice; Ok(None) when no topic is configured (the notice is only logged).
    pub async fn publish(&self, notice: &Notice) -> Result<Option<String>, AwsError> {
        let Some(topic) = &self.topic_arn else {
            tracing::info!(subject = %notice.subject(), body = %notice.body(), "no NOTIFY_TOPIC_ARN configured: notice logged, not sent");
            return Ok(None);
        };
        let (origin, in_subject) = self.origin();
        let notice = &notice.from_origin(&origin, in_subject);
        let mut request = self.client.publish().topic_arn(topic).subject(notice.subject()).message(notice.body());
        for (name, value) in notice.attributes() {
            let attribute =
                MessageAttributeValue::builder().data_type("String").string_value(value).build().map_err(|e| {
                    AwsError::new("sns:Publish", crate::error::AwsErrorKind::InvalidInput, "BuildError", e.to_string())
                })?;
            request = request.message_attributes(name, attribute);
        }
        let out = request.send().await.map_err(|e| AwsError::from_sdk("sns:Publish", e))?;
        Ok(out.message_id().map(str::to_owned))
    }
}
