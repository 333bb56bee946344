//! The benchmark's fake S3 (`scripts/bench/fake_s3.py`) against moto, so the fake cannot drift: the
//! same objects in both, the same requests through the Rust SDK (path-style addressing), the same
//! answers. Listings are compared page by page (keys, sizes, ETags, common prefixes, counts,
//! truncation), with `EncodingType=url` values decoded: S3 encodes a space as `+` (its SDKs decode
//! with form decoding), moto as `%20`, and a correct client reads both the same. Continuation tokens
//! are opaque and differ by design: only their presence is compared.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Delete, EncodingType, ObjectIdentifier};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cache_sentinel::testing;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The fake S3, started for one test and killed when dropped.
struct FakeS3 {
    child: Child,
    url: String,
}

impl FakeS3 {
    fn start() -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let venv_python = root.join(".venv/bin/python");
        let python = if venv_python.exists() { venv_python } else { "python3".into() };
        let mut child = Command::new(python)
            .arg(root.join("scripts/bench/fake_s3.py"))
            .args(["--port", "0", "--region", &testing::region()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start scripts/bench/fake_s3.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the port");
        let announced: serde_json::Value = serde_json::from_str(&line).expect("{\"listening\": PORT}");
        let port = announced["listening"].as_u64().expect("port");
        FakeS3 { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto and the fake, each with a bucket of the same name and the same objects.
struct Sides {
    _fake: FakeS3,
    moto: Client,
    fake: Client,
    bucket: String,
}

/// Keys with spaces, '+', '%', unicode and control characters (not a newline: moto's URL routing
/// cannot match one, so it answers 404 where S3 stores the object).
const KEYS: &[&str] = &[
    "cache/a b/1",
    "cache/a b/2",
    "cache/a+b/1",
    "cache/100%.bin",
    "cache/ünï/κλειδί",
    "cache/ünï/ключ",
    "cache/ctl\u{1}key",
    "cache/tab\tkey",
    "cache/z/deep/1",
    "cache/z/deep/2",
    "cache/zz",
    "cache/~tilde",
    "other/1",
    "other/2",
    "top",
];

fn keys() -> Vec<String> {
    KEYS.iter().map(|k| k.to_string()).chain((0..23).map(|i| format!("cache/p/{i:04}"))).collect()
}

async fn sides() -> Sides {
    let clients = testing::emulator_clients().await;
    let fake_server = FakeS3::start();
    let config = aws_sdk_s3::config::Builder::from(&clients.sdk).endpoint_url(&fake_server.url).force_path_style(true);
    let fake = Client::from_conf(config.build());
    let bucket = testing::unique("drift");
    let region = testing::region();
    for client in [&clients.s3, &fake] {
        client
            .create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            )
            .send()
            .await
            .expect("create bucket");
        for key in keys() {
            let body = ByteStream::from(format!("body of {key}").into_bytes());
            client.put_object().bucket(&bucket).key(&key).body(body).send().await.expect("put");
        }
    }
    Sides { _fake: fake_server, moto: clients.s3.clone(), fake, bucket }
}

/// Form decoding (`%XX` and `+` for a space), as AWS's SDKs decode `EncodingType=url` values.
fn form_decode(value: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One ListObjectsV2 request's parameters.
#[derive(Debug, Clone, Copy, Default)]
struct Listing {
    prefix: Option<&'static str>,
    delimiter: Option<&'static str>,
    start_after: Option<&'static str>,
    max_keys: Option<i32>,
    url: bool,
}

/// What a client learns from one page, decoded.
#[derive(Debug, PartialEq)]
struct Page {
    contents: Vec<(String, i64, String, String)>,
    common_prefixes: Vec<String>,
    key_count: Option<i32>,
    max_keys: Option<i32>,
    truncated: Option<bool>,
    has_next_token: bool,
    name: Option<String>,
    prefix: Option<String>,
    delimiter: Option<String>,
    start_after: Option<String>,
    encoding: Option<String>,
}

/// Every page of a listing, following continuation tokens.
async fn list_all(client: &Client, bucket: &str, listing: Listing) -> Vec<Page> {
    let decode = |v: Option<&str>| v.map(|s| if listing.url { form_decode(s) } else { s.to_owned() });
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = client
            .list_objects_v2()
            .bucket(bucket)
            .set_prefix(listing.prefix.map(str::to_owned))
            .set_delimiter(listing.delimiter.map(str::to_owned))
            .set_start_after(listing.start_after.map(str::to_owned))
            .set_max_keys(listing.max_keys)
            .set_continuation_token(token.clone());
        if listing.url {
            request = request.encoding_type(EncodingType::Url);
        }
        let out = request.send().await.unwrap_or_else(|e| panic!("{listing:?}: {e:?}"));
        for object in out.contents() {
            assert!(object.last_modified().is_some(), "{listing:?}: LastModified of {:?}", object.key());
        }
        pages.push(Page {
            contents: out
                .contents()
                .iter()
                .map(|o| {
                    (
                        decode(o.key()).unwrap_or_default(),
                        o.size().unwrap_or(-1),
                        o.e_tag().unwrap_or_default().to_owned(),
                        o.storage_class().map(|c| c.as_str().to_owned()).unwrap_or_default(),
                    )
                })
                .collect(),
            common_prefixes: out.common_prefixes().iter().filter_map(|p| decode(p.prefix())).collect(),
            key_count: out.key_count(),
            max_keys: out.max_keys(),
            truncated: out.is_truncated(),
            has_next_token: out.next_continuation_token().is_some(),
            name: out.name().map(str::to_owned),
            prefix: decode(out.prefix()).filter(|p| !p.is_empty()),
            delimiter: decode(out.delimiter()),
            start_after: decode(out.start_after()),
            encoding: out.encoding_type().map(|e| e.as_str().to_owned()),
        });
        token = out.next_continuation_token().map(str::to_owned);
        if token.is_none() || pages.len() > 100 {
            return pages;
        }
    }
}

#[tokio::test]
async fn listings_page_by_page_match_moto() {
    let s = sides().await;
    let url =
        |prefix, delimiter, start_after, max_keys| Listing { prefix, delimiter, start_after, max_keys, url: true };
    let listings = [
        url(None, None, None, None),
        url(Some("cache/"), None, None, Some(1)),
        url(Some("cache/"), None, None, Some(2)),
        url(Some("cache/"), None, None, Some(7)),
        url(Some("cache/"), Some("/"), None, Some(1)),
        url(Some("cache/"), Some("/"), None, Some(3)),
        url(Some("cache/"), Some("/"), None, None),
        url(None, Some("/"), None, Some(1)),
        url(Some("cache/"), None, Some("cache/a b/1"), Some(4)),
        // Starting inside a common prefix: the prefix is not greater than StartAfter, so not listed.
        url(Some("cache/"), Some("/"), Some("cache/a b/1"), Some(2)),
        url(Some("cache/"), Some("deep"), None, None),
        url(Some("cache/ünï/"), None, None, None),
        url(Some("nothing-here/"), Some("/"), None, None),
        Listing { prefix: Some("cache/p/"), max_keys: Some(5), ..Listing::default() },
        Listing { prefix: Some("cache/p/"), start_after: Some("cache/p/0017"), ..Listing::default() },
    ];
    for listing in listings {
        let moto = list_all(&s.moto, &s.bucket, listing).await;
        let fake = list_all(&s.fake, &s.bucket, listing).await;
        assert_eq!(fake, moto, "{listing:?}");
        assert!(!moto.is_empty());
    }
    // The first listing saw every key, decoded: the encoding round-trips spaces, '+', '%',
    // unicode and control characters.
    let all = list_all(&s.fake, &s.bucket, url(None, None, None, None)).await;
    let mut expected = keys();
    expected.sort();
    assert_eq!(all[0].contents.iter().map(|c| c.0.clone()).collect::<Vec<_>>(), expected);
}

/// DeleteObjects as each side reports it: (deleted keys, error codes) or the call's error code.
async fn delete(
    client: &Client,
    bucket: &str,
    keys: &[String],
    quiet: bool,
) -> Result<(Vec<String>, Vec<String>), String> {
    let objects = keys.iter().map(|k| ObjectIdentifier::builder().key(k).build().expect("key")).collect();
    let delete = Delete::builder().set_objects(Some(objects)).quiet(quiet).build().expect("delete");
    match client.delete_objects().bucket(bucket).delete(delete).send().await {
        Ok(out) => {
            let mut deleted: Vec<String> = out.deleted().iter().filter_map(|d| d.key().map(str::to_owned)).collect();
            deleted.sort();
            Ok((deleted, out.errors().iter().filter_map(|e| e.code().map(str::to_owned)).collect()))
        }
        Err(e) => Err(e.code().unwrap_or("unknown").to_owned()),
    }
}

#[tokio::test]
async fn delete_objects_matches_moto() {
    let s = sides().await;
    let cases: Vec<(Vec<String>, bool)> = vec![
        // A missing key is reported deleted: DeleteObjects is idempotent.
        (vec!["cache/p/0000".into(), "cache/never-existed".into(), "cache/a b/2".into()], false),
        (vec!["cache/p/0001".into(), "cache/ünï/ключ".into()], true),
    ];
    for (keys, quiet) in &cases {
        let mut moto = delete(&s.moto, &s.bucket, keys, *quiet).await;
        let fake = delete(&s.fake, &s.bucket, keys, *quiet).await;
        if *quiet {
            // AWS: in quiet mode the response lists only the keys that failed. moto ignores Quiet
            // and lists the deleted keys too; the fake answers as AWS documents.
            assert!(fake.as_ref().is_err() || fake.as_ref().is_ok_and(|(deleted, _)| deleted.is_empty()), "{fake:?}");
            if let Ok((deleted, _)) = moto.as_mut() {
                deleted.clear();
            }
        }
        assert_eq!(fake, moto, "{} keys, quiet {quiet}", keys.len());
    }
    assert_eq!(
        delete(&s.fake, &s.bucket, &cases[0].0, false).await.map(|r| r.0.len()),
        Ok(3),
        "per-key results when not quiet"
    );
    // A key XML 1.0 cannot carry (a control character) fails the whole request in both; AWS calls
    // it MalformedXML (moto fails with an internal error).
    let unencodable = ["cache/ctl\u{1}key".to_owned(), "cache/tab\tkey".to_owned()];
    assert!(delete(&s.moto, &s.bucket, &unencodable, false).await.is_err());
    assert_eq!(delete(&s.fake, &s.bucket, &unencodable, false).await, Err("MalformedXML".into()));
    // More than 1,000 keys: AWS refuses the whole request as MalformedXML (moto accepts it).
    let too_many: Vec<String> = (0..1001).map(|i| format!("cache/p/{i:04}")).collect();
    assert_eq!(delete(&s.fake, &s.bucket, &too_many, true).await, Err("MalformedXML".into()));
    let listing = Listing { prefix: Some("cache/"), url: true, ..Listing::default() };
    assert_eq!(list_all(&s.fake, &s.bucket, listing).await, list_all(&s.moto, &s.bucket, listing).await);
}

#[tokio::test]
async fn conditional_put_and_get_match_moto() {
    let s = sides().await;
    for client in [&s.moto, &s.fake] {
        let put = |key: &str| {
            client
                .put_object()
                .bucket(&s.bucket)
                .key(key)
                .if_none_match("*")
                .body(ByteStream::from_static(b"marker"))
                .send()
        };
        let err = put("top").await.expect_err("the key exists");
        assert_eq!(err.code(), Some("PreconditionFailed"), "{err:?}");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(412));
        put("fresh/marker").await.expect("a new key is created");
        assert_eq!(put("fresh/marker").await.expect_err("created once").code(), Some("PreconditionFailed"));
    }
    let get = |client: &Client, key: &'static str| {
        let (client, bucket) = (client.clone(), s.bucket.clone());
        async move {
            match client.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => {
                    let meta = (out.e_tag().map(str::to_owned), out.content_length());
                    Ok((meta, out.body.collect().await.expect("body").into_bytes().to_vec()))
                }
                Err(e) => Err(e.code().map(str::to_owned)),
            }
        }
    };
    for key in ["top", "fresh/marker", "cache/ctl\u{1}key", "cache/ünï/κλειδί", "missing"] {
        assert_eq!(get(&s.fake, key).await, get(&s.moto, key).await, "{key:?}");
    }
    assert_eq!(get(&s.fake, "missing").await, Err(Some("NoSuchKey".into())));
}

#[tokio::test]
async fn bucket_calls_match_moto() {
    let s = sides().await;
    for client in [&s.moto, &s.fake] {
        client.head_bucket().bucket(&s.bucket).send().await.expect("head bucket");
        let versioning = client.get_bucket_versioning().bucket(&s.bucket).send().await.expect("versioning");
        assert_eq!(versioning.status(), None, "never versioned");
        let err = client.head_bucket().bucket(testing::unique("missing")).send().await.expect_err("missing bucket");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
        let err = client.list_objects_v2().bucket(testing::unique("missing")).send().await.expect_err("missing bucket");
        assert_eq!(err.code(), Some("NoSuchBucket"));
    }
}
