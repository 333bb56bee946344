//! The harness's S3 regions: a bucket lives in the region of its LocationConstraint, and a request
//! signed for another region gets S3's documented answer, HTTP 301 with the header
//! `x-amz-bucket-region` (no body for a HEAD; the XML error `PermanentRedirect` otherwise), where
//! moto alone answers 200 from every region.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cache_sentinel::testing;

/// The status, the `x-amz-bucket-region` header and the body of a failed call's raw response.
fn raw<E>(
    err: &SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> (u16, Option<String>, Vec<u8>) {
    let response = err.raw_response().expect("an HTTP answer");
    let region = response.headers().get("x-amz-bucket-region").map(str::to_owned);
    let body = response.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
    (response.status().as_u16(), region, body)
}

#[tokio::test]
async fn a_bucket_asked_through_another_region_answers_301_with_its_region() {
    let home = testing::emulator_clients_in("eu-west-1").await;
    let away = testing::emulator_clients_in("ap-south-1").await;
    let bucket = testing::unique("regions");
    testing::create_bucket(&home, &bucket).await;
    home.s3.put_object().bucket(&bucket).key("k").body(b"x".to_vec().into()).send().await.unwrap();

    // At home: HeadBucket 200 with the region, listings and objects as usual.
    let head = home.s3.head_bucket().bucket(&bucket).send().await.expect("HeadBucket at home");
    assert_eq!(head.bucket_region(), Some("eu-west-1"));
    let listed = home.s3.list_objects_v2().bucket(&bucket).send().await.expect("listing at home");
    assert_eq!(listed.key_count(), Some(1));

    // HeadBucket from another region: 301, the bucket's region in the header, no body.
    let err = away.s3.head_bucket().bucket(&bucket).send().await.expect_err("301");
    let (status, region, body) = raw(&err);
    assert_eq!((status, region.as_deref()), (301, Some("eu-west-1")));
    assert!(body.is_empty(), "a HEAD has no body: {body:?}");

    // A listing and a GetObject: 301 with the PermanentRedirect error body.
    let err = away.s3.list_objects_v2().bucket(&bucket).send().await.expect_err("301");
    assert_eq!(err.code(), Some("PermanentRedirect"));
    let (status, region, body) = raw(&err);
    assert_eq!((status, region.as_deref()), (301, Some("eu-west-1")));
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains(&format!("<Bucket>{bucket}</Bucket>")), "{body}");
    assert!(body.contains(&format!("<Endpoint>{bucket}.s3.eu-west-1.amazonaws.com</Endpoint>")), "{body}");
    let err = away.s3.get_object().bucket(&bucket).key("k").send().await.expect_err("301");
    assert_eq!(err.code(), Some("PermanentRedirect"));
    assert_eq!(raw(&err).0, 301);
    let err = away.s3.put_object().bucket(&bucket).key("k2").body(b"y".to_vec().into()).send().await.expect_err("301");
    assert_eq!(err.code(), Some("PermanentRedirect"));

    // Nothing was written through the wrong region.
    let listed = home.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));

    // A bucket that does not exist is still a 404, whatever the region.
    let err = away.s3.head_bucket().bucket(testing::unique("nowhere")).send().await.expect_err("404");
    assert_eq!(raw(&err).0, 404);
}

#[tokio::test]
async fn a_bucket_in_us_east_1_is_there_only_for_us_east_1() {
    let home = testing::emulator_clients_in("us-east-1").await;
    let away = testing::emulator_clients_in("ap-south-1").await;
    let bucket = testing::unique("regions-use1");
    testing::create_bucket(&home, &bucket).await; // no LocationConstraint: us-east-1
    assert_eq!(home.s3.head_bucket().bucket(&bucket).send().await.unwrap().bucket_region(), Some("us-east-1"));
    let err = away.s3.head_bucket().bucket(&bucket).send().await.expect_err("301");
    assert_eq!(raw(&err).0, 301);
    assert_eq!(raw(&err).1.as_deref(), Some("us-east-1"));
}
