//! The cache bucket's KMS key, as far as the service role's access depends on it. Pure.
//!
//! S3 documents that writing an object to a bucket whose default encryption is SSE-KMS needs
//! `kms:GenerateDataKey`, and reading it `kms:Decrypt`, on the key, by the caller (the project's
//! service role, through S3). The AWS managed key `aws/s3` needs neither in IAM: its key policy
//! allows every principal of the account that may use S3. A customer managed key needs both in the
//! role's policy and in the key policy; the simulator sees only the first.

use crate::aws::s3::BucketEncryption;
use serde::Serialize;

/// What S3 calls on the role's behalf for SSE-KMS objects: writing, then reading.
pub const KMS_ACTIONS: [&str; 2] = ["kms:GenerateDataKey", "kms:Decrypt"];

/// The key the role must be allowed to use, or why none is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "key", rename_all = "snake_case")]
pub enum CacheKey {
    /// SSE-S3: no KMS involved.
    NotKms,
    /// SSE-KMS with the AWS managed key `aws/s3`: no IAM permission to check.
    AwsManaged,
    /// SSE-KMS with a customer managed key: the role needs `KMS_ACTIONS` on `arn`.
    Customer { arn: String },
    /// SSE-KMS with a key named by alias: IAM evaluates KMS permissions against the key's ARN, which
    /// the alias does not tell without KMS's DescribeKey: not checked, said.
    Alias { named: String },
    /// The bucket's encryption could not be read (GetBucketEncryption refused).
    Unknown { reason: String },
}

impl CacheKey {
    /// The key of a bucket's default encryption. A bare key id is a key of the role's account in
    /// `region` (S3 needs the key in the bucket's region).
    pub fn of(encryption: &BucketEncryption, region: &str, role_arn: &str) -> CacheKey {
        let BucketEncryption::Kms { key } = encryption else { return CacheKey::NotKms };
        let Some(key) = key.as_deref() else { return CacheKey::AwsManaged };
        if key.ends_with("alias/aws/s3") {
            return CacheKey::AwsManaged;
        }
        if key.starts_with("arn:") && key.contains(":key/") {
            return CacheKey::Customer { arn: key.to_owned() };
        }
        if key.starts_with("alias/") || key.contains(":alias/") {
            return CacheKey::Alias { named: key.to_owned() };
        }
        let mut parts = role_arn.split(':');
        let partition = parts.nth(1).filter(|p| p.starts_with("aws")).unwrap_or("aws");
        let account = parts.nth(2).filter(|a| a.len() == 12).unwrap_or("");
        CacheKey::Customer { arn: format!("arn:{partition}:kms:{region}:{account}:key/{key}") }
    }

    /// The warning for a key the guard could not check; None when checked or not needed.
    pub fn warning(&self, bucket: &str, region: &str) -> Option<String> {
        match self {
            CacheKey::Alias { named } => Some(format!(
                "the cache bucket {bucket} encrypts with the KMS key {named}, named by alias: the guard cannot check the service role's use of it; the role needs kms:GenerateDataKey and kms:Decrypt on that key (through {}), and the key policy must allow them",
                via_s3(region)
            )),
            CacheKey::Unknown { reason } => Some(format!(
                "could not read the default encryption of the cache bucket {bucket} ({reason}); if it is SSE-KMS with a customer managed key, the service role also needs kms:GenerateDataKey and kms:Decrypt on that key"
            )),
            CacheKey::NotKms | CacheKey::AwsManaged | CacheKey::Customer { .. } => None,
        }
    }
}

/// The `kms:ViaService` value of a KMS call S3 makes in `region`.
pub fn via_s3(region: &str) -> String {
    format!("s3.{region}.amazonaws.com")
}

/// The region of a key ARN (`arn:aws:kms:<region>:...`).
pub fn key_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The policy statement that lets a role use the key through S3 only.
pub fn statement(actions: &[String], key_arn: &str) -> String {
    let via = key_region(key_arn).map(via_s3).unwrap_or_else(|| "s3.<region>.amazonaws.com".into());
    let actions: Vec<String> = actions.iter().map(|a| serde_json::Value::String(a.clone()).to_string()).collect();
    format!(
        "{{\n  \"Sid\": \"CodeBuildCacheKmsKey\",\n  \"Effect\": \"Allow\",\n  \"Action\": [{}],\n  \"Resource\": {},\n  \"Condition\": {{\"StringEquals\": {{\"kms:ViaService\": {}}}}}\n}}",
        actions.join(", "),
        serde_json::Value::String(key_arn.to_owned()),
        serde_json::Value::String(via)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/service-role/codebuild-tts";

    fn kms(key: Option<&str>) -> BucketEncryption {
        BucketEncryption::Kms { key: key.map(str::to_owned) }
    }

    #[test]
    fn the_key_is_read_from_each_form_s3_accepts() {
        let arn = "arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(CacheKey::of(&BucketEncryption::S3Managed, "ap-south-1", ROLE), CacheKey::NotKms);
        assert_eq!(CacheKey::of(&kms(None), "ap-south-1", ROLE), CacheKey::AwsManaged);
        assert_eq!(CacheKey::of(&kms(Some("alias/aws/s3")), "ap-south-1", ROLE), CacheKey::AwsManaged);
        assert_eq!(CacheKey::of(&kms(Some(arn)), "ap-south-1", ROLE), CacheKey::Customer { arn: arn.into() });
        let bare = CacheKey::of(&kms(Some("1234abcd-12ab-34cd-56ef-1234567890ab")), "ap-south-1", ROLE);
        assert_eq!(bare, CacheKey::Customer { arn: arn.into() }, "a key id: the role's account, the bucket's region");
        let alias = CacheKey::of(&kms(Some("alias/cache")), "ap-south-1", ROLE);
        assert_eq!(alias, CacheKey::Alias { named: "alias/cache".into() });
        assert!(alias.warning("b", "ap-south-1").unwrap().contains("kms:GenerateDataKey and kms:Decrypt"));
        assert_eq!(CacheKey::AwsManaged.warning("b", "ap-south-1"), None);
    }

    #[test]
    fn the_statement_allows_the_key_through_s3_only() {
        let arn = "arn:aws:kms:ap-south-1:123456789012:key/k1";
        let text = statement(&KMS_ACTIONS.map(str::to_owned), arn);
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed["Action"], serde_json::json!(["kms:GenerateDataKey", "kms:Decrypt"]));
        assert_eq!(parsed["Resource"], arn);
        assert_eq!(parsed["Condition"]["StringEquals"]["kms:ViaService"], "s3.ap-south-1.amazonaws.com");
    }
}
