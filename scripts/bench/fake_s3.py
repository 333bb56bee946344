"""A small fake S3 for benchmarks: the calls a cache pruner makes, answered in S3's documented XML
(path-style addressing), over a sorted in-memory index, with a fixed sleep per request.

Why: moto spends CPU per request under one interpreter lock (and lists a bucket by scanning all of
it), so it hides client-side concurrency. This server does little work per request and sleeps the
configured latency in the request's own thread, so N requests in flight take one latency, as on S3.
Its answers are checked against moto's on the same data by shared/tests/emulator/fake_s3_drift.rs.

Usage: python fake_s3.py [--host 127.0.0.1] [--port 0] [--latency-ms MS] [--region R]
Prints one JSON line {"listening": PORT} on stdout once it accepts connections.

S3 operations (any signature is accepted; none is checked):
  ListObjectsV2  prefix, delimiter, continuation-token, start-after, max-keys (at most 1,000),
                 encoding-type=url (Key, Prefix, Delimiter, StartAfter and CommonPrefixes encoded)
  DeleteObjects  Quiet or per-key <Deleted> results, at most 1,000 keys (MalformedXML beyond)
  GetObject, HeadObject, PutObject (If-None-Match: * -> 412 PreconditionFailed), DeleteObject
  CreateBucket, HeadBucket, GetBucketVersioning (never enabled), GetBucketPolicy (never one)
  anything else: 501 NotImplemented
Benchmark endpoints (no latency, not counted):
  GET  /_bench/counts                  {"s3:ListObjectsV2": n, ...} requests served since the reset
  POST /_bench/reset                   zero the counts
  POST /_bench/seed                    replace a bucket's objects without one request per object:
       {"bucket": B, "objects": [[key, size, age_seconds], ...]}        explicit objects, or
       {"bucket": B, "dataset": {"objects": N, "locations": L, "seed": S}}  scripts/bench/dataset.py
  GET  /_bench/digest?bucket=B[&exclude=P]   {"objects", "bytes", "sha256"} of the sorted live keys
  GET  /_bench/keys?bucket=B[&exclude=P]     the live keys, one per line (to diff two runs)

What it does not model: authentication, versioning, multipart uploads, ranges, checksums, storage
classes other than STANDARD, throttling (503 SlowDown) and S3's per-prefix request rates.
"""

import argparse
import base64
import bisect
import collections
import hashlib
import io
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid
from array import array
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset  # noqa: E402  (beside this file)

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000
SEEDED_ETAG = "d41d8cd98f00b204e9800998ecf8427e"  # seeded objects carry no body: the empty body's MD5


def next_prefix(prefix):
    """The smallest string greater than every string that starts with `prefix` ("" for none)."""
    while prefix and prefix[-1] == "\U0010ffff":
        prefix = prefix[:-1]
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else ""


def xml_text(value):
    """XML character data; control characters become numeric references (XML 1.0 cannot carry
    them, which is why clients ask for encoding-type=url)."""
    out = []
    for ch in value:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ord(ch) < 0x20 and ch not in "\t\n\r":
            out.append("&#x%x;" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def url_encode(value):
    """S3's encoding-type=url: form encoding (a space is "+"), "/" kept; decoded by unquote_plus."""
    return urllib.parse.quote_plus(value, safe="/")


def iso8601(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


class S3Error(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class Bucket:
    """Objects as parallel arrays sorted by key (str order is UTF-8 byte order, as S3 lists).
    A deletion only clears `alive`, so listing and deleting stay O(log n) plus the page."""

    def __init__(self, name, region):
        self.name, self.region = name, region
        self.lock = threading.Lock()
        self.load([])

    def load(self, objects):
        """Replaces the content with (key, size, mtime_ms) tuples (any order; the last of a key wins)."""
        latest = {}
        for key, size, mtime in objects:
            latest[key] = (size, mtime)
        keys = sorted(latest)
        with self.lock:
            self.keys = keys
            self.sizes = array("q", (latest[k][0] for k in keys))
            self.mtimes = array("q", (latest[k][1] for k in keys))
            self.alive = bytearray(b"\x01") * len(keys)
            self.bodies = {}  # key -> (bytes, etag, content type) of objects written by PutObject

    def find(self, key):
        i = bisect.bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key and self.alive[i] else None

    def put(self, key, body, content_type, if_none_match):
        etag = hashlib.md5(body).hexdigest()
        now = int(time.time() * 1000)
        with self.lock:
            i = bisect.bisect_left(self.keys, key)
            exists = i < len(self.keys) and self.keys[i] == key
            if if_none_match and exists and self.alive[i]:
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", Condition="If-None-Match")
            if exists:
                self.sizes[i], self.mtimes[i], self.alive[i] = len(body), now, 1
            else:
                self.keys.insert(i, key)
                self.sizes.insert(i, len(body))
                self.mtimes.insert(i, now)
                self.alive.insert(i, 1)
            self.bodies[key] = (body, etag, content_type)
        return etag

    def delete(self, key):
        with self.lock:
            i = self.find(key)
            if i is not None:
                self.alive[i] = 0
                self.bodies.pop(key, None)

    def meta(self, key):
        """(size, mtime_ms, etag, body or None, content type) of a live key, or None."""
        with self.lock:
            i = self.find(key)
            if i is None:
                return None
            body, etag, ctype = self.bodies.get(key, (None, SEEDED_ETAG, "binary/octet-stream"))
            return self.sizes[i], self.mtimes[i], etag, body, ctype

    def etag(self, i):
        stored = self.bodies.get(self.keys[i])
        return stored[1] if stored else SEEDED_ETAG

    def list(self, prefix, delimiter, after, max_keys):
        """Items after `after` (exclusive), as S3 orders them: (contents indexes, common prefixes,
        truncated, last item returned). A common prefix not greater than `after` is skipped, so a
        continuation after it (or a start-after inside it) never repeats it."""
        keys, alive = self.keys, self.alive
        end = bisect.bisect_left(keys, next_prefix(prefix)) if prefix else len(keys)
        start = bisect.bisect_left(keys, prefix)
        i = max(start, bisect.bisect_right(keys, after)) if after is not None else start
        contents, prefixes, last, truncated = [], [], None, False
        while i < end:
            if not alive[i]:
                i += 1
                continue
            key = keys[i]
            at = key.find(delimiter, len(prefix)) if delimiter else -1
            if at >= 0:
                common = key[: at + len(delimiter)]
                if after is None or common > after:
                    if len(contents) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    prefixes.append(common)
                    last = common
                i = bisect.bisect_left(keys, next_prefix(common), i, end)
                continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            contents.append(i)
            last = key
            i += 1
        return contents, prefixes, truncated, last

    def live(self, exclude):
        with self.lock:
            for i, key in enumerate(self.keys):
                if self.alive[i] and not (exclude and key.startswith(exclude)):
                    yield key, self.sizes[i]


class Store:
    def __init__(self, region, latency):
        self.region, self.latency = region, latency
        self.buckets = {}
        self.lock = threading.Lock()
        self.counts = collections.Counter()

    def bucket(self, name):
        bucket = self.buckets.get(name)
        if bucket is None:
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=name)
        return bucket

    def count(self, operation):
        with self.lock:
            self.counts[operation] += 1

    def seed(self, spec):
        name = spec["bucket"]
        with self.lock:
            bucket = self.buckets.setdefault(name, Bucket(name, spec.get("region", self.region)))
        now_ms = int(spec.get("now_ms") or time.time() * 1000)
        if "dataset" in spec:
            d = spec["dataset"]
            objects = dataset.objects(d["objects"], d["locations"], d.get("seed", 42), now_ms)
        else:
            objects = ((k, int(size), now_ms - int(float(age) * 1000)) for k, size, age in spec["objects"])
        bucket.load(objects)
        return len(bucket.keys)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "AmazonS3"
    store: Store = None  # set by main

    def log_message(self, *args):
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def body(self):
        """The request body: Content-Length or chunked transfer, with aws-chunked content decoded."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self.read_chunks(self.rfile)
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if "aws-chunked" in encoding or self.headers.get("x-amz-content-sha256", "").startswith("STREAMING-"):
            raw = self.read_chunks(io.BytesIO(raw))
        return raw

    @staticmethod
    def read_chunks(stream):
        out = bytearray()
        while True:
            line = stream.readline()
            if not line:
                break
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while stream.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers (x-amz-checksum-*)
                break
            out += stream.read(size)
            stream.readline()
        return bytes(out)

    def send(self, status, body=b"", headers=(), content_type="application/xml"):
        self.send_response(status)
        self.send_header("x-amz-request-id", uuid.uuid4().hex[:16].upper())
        if body or self.command != "HEAD":
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        if "Content-Length" not in dict(headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_xml(self, status, xml, headers=()):
        self.send(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode(), headers)

    def send_error_xml(self, err, resource):
        if self.command == "HEAD":  # S3 answers HEAD errors without a body
            self.send(err.status)
            return
        extra = "".join(f"<{k}>{xml_text(str(v))}</{k}>" for k, v in err.extra.items())
        self.send_xml(
            err.status,
            f"<Error><Code>{err.code}</Code><Message>{xml_text(err.message)}</Message>{extra}"
            f"<Resource>{xml_text(resource)}</Resource><RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>",
        )

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        path = url.path
        if path.startswith("/_bench/"):
            return self.bench(path, query)
        bucket, _, key = path.lstrip("/").partition("/")
        bucket, key = urllib.parse.unquote(bucket), urllib.parse.unquote(key)
        operation, action = self.operation(bucket, key, query)
        self.store.count(operation)
        if self.store.latency:
            time.sleep(self.store.latency)
        try:
            if action is None:
                raise S3Error(501, "NotImplemented", f"{self.command} {url.path}?{url.query} is not implemented by this fake S3")
            action(bucket, key, query)
        except S3Error as err:
            self.send_error_xml(err, path)

    def operation(self, bucket, key, query):
        m = self.command
        if not bucket:
            return "s3:ListBuckets", None
        if not key:
            if m == "GET" and query.get("list-type") == ["2"]:
                return ("s3:ListObjectsV2(delimiter)" if query.get("delimiter", [""])[0] else "s3:ListObjectsV2"), self.list_objects_v2
            if m == "POST" and "delete" in query:
                return "s3:DeleteObjects", self.delete_objects
            if m == "GET" and "versioning" in query:
                return "s3:GetBucketVersioning", self.get_bucket_versioning
            if m == "GET" and "policy" in query:
                return "s3:GetBucketPolicy", self.get_bucket_policy
            if m == "HEAD" and not query:
                return "s3:HeadBucket", self.head_bucket
            if m == "PUT" and not query:
                return "s3:CreateBucket", self.create_bucket
            return f"s3:{m} bucket?{'&'.join(sorted(query))}", None
        subresource = [q for q in query if q != "x-id"]
        if subresource:
            return f"s3:{m} object?{'&'.join(sorted(subresource))}", None
        return {
            "GET": ("s3:GetObject", self.get_object),
            "HEAD": ("s3:HeadObject", self.get_object),
            "PUT": ("s3:PutObject", self.put_object),
            "DELETE": ("s3:DeleteObject", self.delete_object),
        }.get(m, (f"s3:{m} object", None))

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = lambda self: self.route()

    # -- S3 operations -------------------------------------------------------------------------

    def list_objects_v2(self, name, _key, query):
        bucket = self.store.bucket(name)
        arg = lambda n: query.get(n, [None])[0]  # noqa: E731
        prefix, delimiter = arg("prefix") or "", arg("delimiter") or ""
        token, start_after, encoding = arg("continuation-token"), arg("start-after"), arg("encoding-type")
        if encoding not in (None, "url"):
            raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request", ArgumentName="encoding-type", ArgumentValue=encoding)
        try:
            max_keys = MAX_KEYS if arg("max-keys") is None else int(arg("max-keys"))
            if max_keys < 0:
                raise ValueError
        except ValueError:
            raise S3Error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range", ArgumentName="max-keys", ArgumentValue=arg("max-keys"))
        after = start_after
        if token is not None:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
            except ValueError:
                raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect", ArgumentName="continuation-token")
        enc = url_encode if encoding == "url" else (lambda v: v)
        with bucket.lock:
            indexes, prefixes, truncated, last = bucket.list(prefix, delimiter, after, min(max_keys, MAX_KEYS))
            contents = [
                f"<Contents><Key>{xml_text(enc(bucket.keys[i]))}</Key><LastModified>{iso8601(bucket.mtimes[i])}</LastModified>"
                f"<ETag>&quot;{bucket.etag(i)}&quot;</ETag><Size>{bucket.sizes[i]}</Size><StorageClass>STANDARD</StorageClass></Contents>"
                for i in indexes
            ]
        parts = [f'<ListBucketResult xmlns="{NS}"><Name>{xml_text(name)}</Name><Prefix>{xml_text(enc(prefix))}</Prefix>']
        if token is not None:
            parts.append(f"<ContinuationToken>{xml_text(token)}</ContinuationToken>")
        if truncated:
            next_token = base64.urlsafe_b64encode(last.encode("utf-8")).decode()
            parts.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
        parts.append(f"<KeyCount>{len(indexes) + len(prefixes)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{xml_text(enc(delimiter))}</Delimiter>")
        if start_after is not None and token is None:
            parts.append(f"<StartAfter>{xml_text(enc(start_after))}</StartAfter>")
        if encoding:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        parts.extend(contents)
        parts.extend(f"<CommonPrefixes><Prefix>{xml_text(enc(p))}</Prefix></CommonPrefixes>" for p in prefixes)
        parts.append("</ListBucketResult>")
        self.send_xml(200, "".join(parts))

    def delete_objects(self, name, _key, _query):
        bucket = self.store.bucket(name)
        malformed = S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
        try:
            root = ElementTree.fromstring(self.body())
        except ElementTree.ParseError:
            raise malformed
        local = lambda el: el.tag.rsplit("}", 1)[-1]  # noqa: E731
        if local(root) != "Delete":
            raise malformed
        quiet = any(local(el) == "Quiet" and (el.text or "").strip().lower() == "true" for el in root)
        keys = []
        for el in root:
            if local(el) == "Object":
                key = next((c.text or "" for c in el if local(c) == "Key"), None)
                if key is None:
                    raise malformed
                keys.append(key)
        if not keys or len(keys) > MAX_KEYS:
            raise malformed
        out = [f'<DeleteResult xmlns="{NS}">']
        for key in keys:
            bucket.delete(key)  # a missing key is deleted too: S3 reports success
            if not quiet:
                out.append(f"<Deleted><Key>{xml_text(key)}</Key></Deleted>")
        out.append("</DeleteResult>")
        self.send_xml(200, "".join(out))

    def get_object(self, name, key, _query):
        meta = self.store.bucket(name).meta(key)
        if meta is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        size, mtime, etag, body, ctype = meta
        headers = [
            ("ETag", f'"{etag}"'),
            ("Last-Modified", formatdate(mtime / 1000, usegmt=True)),
            ("Accept-Ranges", "bytes"),
            ("Content-Length", str(size)),
        ]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        for h in headers:
            self.send_header(*h)
        self.end_headers()
        if self.command == "GET":
            if body is not None:
                self.wfile.write(body)
            else:  # a seeded object: its size in zero bytes
                for offset in range(0, size, 1 << 16):
                    self.wfile.write(bytes(min(1 << 16, size - offset)))

    def put_object(self, name, key, _query):
        bucket = self.store.bucket(name)
        condition = self.headers.get("If-None-Match")
        if condition not in (None, "*") or self.headers.get("If-Match"):
            raise S3Error(501, "NotImplemented", "A header you provided implies functionality that is not implemented", Header="If-Match/If-None-Match")
        body = self.body()
        etag = bucket.put(key, body, self.headers.get("Content-Type", "binary/octet-stream"), condition == "*")
        self.send(200, headers=[("ETag", f'"{etag}"')])

    def delete_object(self, name, key, _query):
        self.store.bucket(name).delete(key)
        self.send(204)

    def head_bucket(self, name, _key, _query):
        bucket = self.store.bucket(name)
        self.send(200, headers=[("x-amz-bucket-region", bucket.region), ("x-amz-access-point-alias", "false")])

    def get_bucket_versioning(self, name, _key, _query):
        self.store.bucket(name)
        self.send_xml(200, f'<VersioningConfiguration xmlns="{NS}"/>')

    def get_bucket_policy(self, name, _key, _query):
        # The bench's buckets never have a policy: S3 answers 404 NoSuchBucketPolicy.
        self.store.bucket(name)
        raise S3Error(404, "NoSuchBucketPolicy", "The bucket policy does not exist", BucketName=name)

    def create_bucket(self, name, _key, _query):
        body = self.body()
        region = "us-east-1"
        if body:
            try:
                found = [el.text for el in ElementTree.fromstring(body).iter() if el.tag.endswith("LocationConstraint")]
            except ElementTree.ParseError:
                raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
            region = found[0] if found and found[0] else region
        with self.store.lock:
            if name in self.store.buckets:
                raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", BucketName=name)
            self.store.buckets[name] = Bucket(name, region)
        self.send(200, headers=[("Location", f"/{name}")])

    # -- benchmark endpoints -------------------------------------------------------------------

    def bench(self, path, query):
        store = self.store
        reply = lambda obj: self.send(200, json.dumps(obj).encode(), content_type="application/json")  # noqa: E731
        arg = lambda n: query.get(n, [None])[0]  # noqa: E731
        try:
            if path == "/_bench/counts":
                with store.lock:
                    return reply(dict(store.counts))
            if path == "/_bench/reset" and self.command == "POST":
                with store.lock:
                    store.counts.clear()
                return reply({})
            if path == "/_bench/seed" and self.command == "POST":
                started = time.time()
                seeded = store.seed(json.loads(self.body()))
                return reply({"seeded": seeded, "seconds": round(time.time() - started, 2)})
            if path in ("/_bench/digest", "/_bench/keys"):
                live = store.bucket(arg("bucket")).live(arg("exclude"))
                if path == "/_bench/keys":
                    return self.send(200, "".join(k + "\n" for k, _ in live).encode(), content_type="text/plain; charset=utf-8")
                digest, count, total = hashlib.sha256(), 0, 0
                for key, size in live:
                    digest.update(key.encode() + b"\n")
                    count, total = count + 1, total + size
                return reply({"objects": count, "bytes": total, "sha256": digest.hexdigest()})
        except S3Error as err:
            return self.send(err.status, json.dumps({"error": err.code}).encode(), content_type="application/json")
        self.send(404, b'{"error": "no such benchmark endpoint"}', content_type="application/json")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--region", default="ap-south-1")
    args = parser.parse_args(argv)
    Handler.store = Store(args.region, args.latency_ms / 1000.0)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(json.dumps({"listening": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
