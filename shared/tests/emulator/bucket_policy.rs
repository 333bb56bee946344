//! The harness's bucket-policy evaluation (scripts/emulator/moto_server.py): a statement applies
//! only when its Condition holds, as IAM evaluates policies. moto held conditions it cannot
//! evaluate (Bool) and tests of keys the request lacks, so the usual `Deny` on
//! `aws:SecureTransport: false` refused the bucket owner's every request. The emulator's requests
//! carry no condition keys: a test of a missing key is false, but for a negated operator, which
//! IAM holds true (a Deny on `StringNotEquals aws:PrincipalOrgID` refuses a principal outside any
//! organisation); a statement without a condition is enforced.

use cache_sentinel::testing;

#[tokio::test]
async fn a_conditional_deny_applies_only_when_its_condition_holds_and_an_unconditional_one_always() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("policy");
    testing::create_bucket(&clients, &bucket).await;
    let arn = format!("arn:aws:s3:::{bucket}");
    let policy = |statements: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    let put = |key: &'static str| clients.s3.put_object().bucket(&bucket).key(key).body(b"x".to_vec().into()).send();

    let conditional = format!(
        r#"{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["{arn}","{arn}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}},
           {{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"{arn}/*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}}}"#
    );
    clients.s3.put_bucket_policy().bucket(&bucket).policy(policy(&conditional)).send().await.expect("policy");
    put("allowed").await.expect("conditions the request does not meet: the statements do not apply");
    clients.s3.get_object().bucket(&bucket).key("allowed").send().await.expect("read back");

    for denying in [
        format!(r#"{{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"{arn}/*"}}"#),
        format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"{arn}/*","Condition":{{"StringNotEquals":{{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}}}"#
        ),
    ] {
        clients.s3.put_bucket_policy().bucket(&bucket).policy(policy(&denying)).send().await.expect("policy");
        let err = put("denied").await.expect_err("this deny applies");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403), "{denying}: {err:?}");
    }
}
