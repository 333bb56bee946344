//! SNS adapter: publishes notices to the configured topic.

use crate::error::AwsError;
use crate::notify::Notice;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;

#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: Client,
    topic_arn: Option<String>,
}

impl SnsPublisher {
    pub fn new(client: Client, topic_arn: Option<String>) -> Self {
        SnsPublisher { client, topic_arn }
    }

    pub fn topic_arn(&self) -> Option<&str> {
        self.topic_arn.as_deref()
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
