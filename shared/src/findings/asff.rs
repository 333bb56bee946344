//! A finding in the AWS Security Finding Format (ASFF), as BatchImportFindings takes it into the
//! account's own Security Hub: every field ASFF requires (`SchemaVersion` 2018-10-08, `Id`,
//! `ProductArn` = the account's default product, `GeneratorId`, `AwsAccountId`, `Types`,
//! `CreatedAt`, `UpdatedAt`, `Severity`, `Title`, `Description`, `Resources`), the remediation, and
//! the record state. Pure: plain data in, JSON out.
//!
//! One finding per account, region, subject (a project, or the bucket) and kind, under a
//! deterministic `Id`, so that importing it again updates it (a recurrence: `UpdatedAt` and the
//! count move, `CreatedAt` stays) and importing it `ARCHIVED` closes it when the cause is gone
//! (`findings::sink` then sets its workflow RESOLVED, which an import cannot; Security Hub reopens
//! it as `NEW` if it is imported `ACTIVE` again: AWS Security Hub API reference, `Workflow`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// The fields ASFF requires of every finding BatchImportFindings takes.
pub const REQUIRED: [&str; 12] = [
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
];

/// The required fields a finding lacks (empty: none).
pub fn missing_required(finding: &Value) -> Vec<&'static str> {
    REQUIRED.into_iter().filter(|f| finding[*f].is_null()).collect()
}
/// AWS's guide to CodeBuild caching: the remediation link of the cache findings.
pub const CACHING_GUIDE: &str = "https://docs.aws.amazon.com/codebuild/latest/userguide/build-caching.html";
/// ASFF's limits: `Title` 256 characters, `Description` 1,024, `Remediation.Recommendation.Text` 512.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const REMEDIATION_MAX: usize = 512;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A project off the S3 cache where S3 is right (the guard heals it, or would).
    OffS3Cache,
    /// A heal the guard refused (the bucket, the service role, other data in the location...).
    HealRefused,
    /// A cache configured on S3 that its builds show does not work.
    CacheNotEffective,
    /// Builds that take longer than their expected range.
    BuildsOverRange,
    /// Data in the cache bucket that is no project's cache (never pruned, reported).
    UnmanagedData,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::OffS3Cache, Kind::HealRefused, Kind::CacheNotEffective, Kind::BuildsOverRange, Kind::UnmanagedData];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OffS3Cache => "off-s3-cache",
            Kind::HealRefused => "heal-refused",
            Kind::CacheNotEffective => "cache-not-effective",
            Kind::BuildsOverRange => "builds-over-range",
            Kind::UnmanagedData => "unmanaged-data",
        }
    }

    /// ASFF `Types`: `namespace/category/classifier`, in ASFF's namespaces and categories.
    fn finding_type(self) -> &'static str {
        match self {
            Kind::OffS3Cache | Kind::HealRefused | Kind::CacheNotEffective => {
                "Software and Configuration Checks/AWS Security Best Practices/CodeBuild cache"
            }
            Kind::BuildsOverRange => "Effects/Resource Consumption/CodeBuild build time",
            Kind::UnmanagedData => {
                "Software and Configuration Checks/AWS Security Best Practices/CodeBuild cache bucket"
            }
        }
    }

    fn severity(self) -> &'static str {
        match self {
            Kind::OffS3Cache | Kind::HealRefused | Kind::CacheNotEffective => "MEDIUM",
            Kind::BuildsOverRange => "LOW",
            Kind::UnmanagedData => "INFORMATIONAL",
        }
    }

    /// The function that finds it: `GeneratorId` is `cache-sentinel/<function>/<kind>`.
    pub fn generator(self) -> &'static str {
        match self {
            Kind::OffS3Cache | Kind::HealRefused => "cache-guard",
            Kind::CacheNotEffective | Kind::BuildsOverRange => "build-time-monitor",
            Kind::UnmanagedData => "cache-pruner",
        }
    }
}

/// Where the findings go: the account's own Security Hub in one region and partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Place {
    /// The partition of a region: `aws-cn` for cn-*, `aws-us-gov` for us-gov-*, else `aws`.
    pub fn new(region: &str, account: &str) -> Self {
        Place { partition: crate::org::partition_of(region).into(), region: region.into(), account: account.into() }
    }

    /// The account's default product: where an account imports its own findings.
    pub fn product_arn(&self) -> String {
        format!("arn:{}:securityhub:{}:{}:product/{}/default", self.partition, self.region, self.account, self.account)
    }

    pub fn project_arn(&self, project: &str) -> String {
        format!("arn:{}:codebuild:{}:{}:project/{project}", self.partition, self.region, self.account)
    }

    pub fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }
}

/// What the finding is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Project(String),
    Bucket(String),
}

impl Subject {
    fn name(&self) -> &str {
        match self {
            Subject::Project(p) | Subject::Bucket(p) => p,
        }
    }
}

/// One finding, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub subject: Subject,
    pub title: String,
    /// What was seen, with its figures (how often, how much).
    pub description: String,
    /// The statement or change to make.
    pub remediation: String,
    /// A page that explains it (the project's docs on GitHub), when there is one.
    pub remediation_url: Option<String>,
    /// When it was first seen (kept across updates by the caller) and seen now.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// How many times it was seen (recurrences), said in the description's first words.
    pub count: u32,
    /// The cause is gone: imported ARCHIVED.
    pub resolved: bool,
}

/// The finding's `Id`: the same for the same account, region, kind and subject, whatever else
/// changes, so that a recurrence updates one finding instead of adding another.
pub fn finding_id(place: &Place, kind: Kind, subject: &Subject) -> String {
    let on = match subject {
        Subject::Project(p) => format!("project/{p}"),
        Subject::Bucket(b) => format!("bucket/{b}"),
    };
    format!("cache-sentinel/{}/{}/{}/{on}", place.account, place.region, kind.as_str())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// At most `max` characters, ending in "..." when cut.
fn limit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 3).collect();
    cut.push_str("...");
    cut
}

/// The finding as BatchImportFindings takes it.
pub fn to_asff(place: &Place, f: &Finding) -> Value {
    let resource = match &f.subject {
        Subject::Project(p) => json!({"Type": "AwsCodeBuildProject", "Id": place.project_arn(p),
            "Partition": place.partition, "Region": place.region}),
        Subject::Bucket(b) => json!({"Type": "AwsS3Bucket", "Id": place.bucket_arn(b),
            "Partition": place.partition, "Region": place.region}),
    };
    let severity = if f.resolved { "INFORMATIONAL" } else { f.kind.severity() };
    let mut recommendation = json!({"Text": limit(&f.remediation, REMEDIATION_MAX)});
    if let Some(url) = &f.remediation_url {
        recommendation["Url"] = json!(url);
    }
    json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(place, f.kind, &f.subject),
        "ProductArn": place.product_arn(),
        "GeneratorId": format!("cache-sentinel/{}/{}", f.kind.generator(), f.kind.as_str()),
        "AwsAccountId": place.account,
        "Types": [f.kind.finding_type()],
        "FirstObservedAt": time(f.first_seen),
        "LastObservedAt": time(f.last_seen),
        "CreatedAt": time(f.first_seen),
        "UpdatedAt": time(f.last_seen),
        "Severity": {"Label": severity},
        // A provider updates its severity and types here: Security Hub keeps the top-level ones
        // once a customer has changed them (AWS: FindingProviderFields).
        "FindingProviderFields": {"Severity": {"Label": severity}, "Types": [f.kind.finding_type()]},
        "Title": limit(&f.title, TITLE_MAX),
        "Description": limit(&f.description, DESCRIPTION_MAX),
        "Remediation": {"Recommendation": recommendation},
        "ProductFields": {"ProviderName": "cache-sentinel", "cache-sentinel/Kind": f.kind.as_str(),
            "cache-sentinel/Subject": f.subject.name(), "cache-sentinel/Count": f.count.to_string()},
        "Resources": [resource],
        "RecordState": if f.resolved { "ARCHIVED" } else { "ACTIVE" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn finding(kind: Kind, subject: Subject) -> Finding {
        let first = Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 0).unwrap();
        Finding {
            kind,
            subject,
            title: "tts-service-build is on LOCAL_DOCKER_LAYER_CACHE, not the S3 cache".into(),
            description: "Seen 3 times since 2026-11-23: LOCAL lives on one build host.".into(),
            remediation: "Set the project's cache to S3 at codebuild-cache-123456789012-ap-south-1/tts-service-build."
                .into(),
            remediation_url: Some(CACHING_GUIDE.into()),
            first_seen: first,
            last_seen: first + chrono::Duration::days(2),
            count: 3,
            resolved: false,
        }
    }

    #[test]
    fn a_finding_has_every_field_asff_requires_and_reads_as_snapshotted() {
        let place = Place::new("ap-south-1", "123456789012");
        let asff = to_asff(&place, &finding(Kind::OffS3Cache, Subject::Project("tts-service-build".into())));
        assert!(missing_required(&asff).is_empty(), "{}", asff);
        assert_eq!(asff["ProductArn"], "arn:aws:securityhub:ap-south-1:123456789012:product/123456789012/default");
        assert_eq!(asff["Resources"][0]["Id"], "arn:aws:codebuild:ap-south-1:123456789012:project/tts-service-build");
        crate::snapshots::assert_snapshot("asff-off-s3.json", &serde_json::to_string_pretty(&asff).unwrap());
    }

    #[test]
    fn the_id_is_the_same_for_a_recurrence_and_differs_by_kind_subject_and_place() {
        let place = Place::new("ap-south-1", "123456789012");
        let tts = Subject::Project("tts".into());
        let once = to_asff(&place, &finding(Kind::OffS3Cache, tts.clone()));
        let mut again = finding(Kind::OffS3Cache, tts.clone());
        (again.count, again.last_seen) = (4, again.last_seen + chrono::Duration::hours(1));
        let again = to_asff(&place, &again);
        assert_eq!(once["Id"], again["Id"]);
        assert_eq!(once["CreatedAt"], again["CreatedAt"]);
        assert_ne!(once["UpdatedAt"], again["UpdatedAt"]);
        let ids: std::collections::BTreeSet<String> = [
            finding_id(&place, Kind::OffS3Cache, &tts),
            finding_id(&place, Kind::HealRefused, &tts),
            finding_id(&place, Kind::OffS3Cache, &Subject::Project("web".into())),
            finding_id(&Place::new("eu-west-1", "123456789012"), Kind::OffS3Cache, &tts),
            finding_id(&Place::new("ap-south-1", "210987654321"), Kind::OffS3Cache, &tts),
            finding_id(&place, Kind::UnmanagedData, &Subject::Bucket("tts".into())),
        ]
        .into();
        assert_eq!(ids.len(), 6);
    }

    #[test]
    fn resolved_is_archived_partitions_follow_the_region_and_long_text_is_cut() {
        let mut f = finding(Kind::UnmanagedData, Subject::Bucket("codebuild-cache-1".into()));
        f.resolved = true;
        f.description = "x".repeat(5000);
        let cn = to_asff(&Place::new("cn-north-1", "123456789012"), &f);
        assert_eq!(cn["RecordState"], "ARCHIVED");
        assert_eq!(cn["ProductArn"], "arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default");
        assert_eq!(
            cn["Resources"][0],
            json!({"Type": "AwsS3Bucket", "Id": "arn:aws-cn:s3:::codebuild-cache-1",
            "Partition": "aws-cn", "Region": "cn-north-1"})
        );
        assert_eq!(cn["Description"].as_str().unwrap().chars().count(), DESCRIPTION_MAX);
        let gov = Place::new("us-gov-west-1", "123456789012");
        assert!(gov.project_arn("p").starts_with("arn:aws-us-gov:codebuild:us-gov-west-1:"));
    }
}
