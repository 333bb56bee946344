"""A fault-injecting HTTP proxy between the functions (any AWS SDK) and the emulator.

It answers a configurable share of requests itself, with the throttling and server errors AWS
documents, in each service's own wire format, instead of forwarding them; everything else goes to
the emulator unchanged. A faulted request never reaches the emulator (as when AWS throttles a call,
it is not carried out), so the emulator's state and the proxy's per-operation counts of forwarded
requests show exactly what was carried out.

    CodeBuild, CloudWatch Logs (AWS JSON 1.1)  400 {"__type": "ThrottlingException", ...}
    S3 (REST-XML)                              503 <Error><Code>SlowDown</Code>... or
                                               500 <Error><Code>InternalError</Code>...
    SNS, IAM (AWS query, XML)                  400 <ErrorResponse>...<Code>Throttling</Code>...
    Security Hub (REST-JSON)                   429 {"Code": "LimitExceededException", ...}

Which requests are faulted is decided deterministically from the seed: the n-th request of each
operation is faulted when a hash of (seed, operation, n) falls under the rate. A program that makes
its calls in a fixed order sees the same faults on every run; concurrent callers see the same number
of faults per operation, in an order the scheduler decides. A retry is a new request (n + 1), so it
is decided afresh, as a retry against AWS is.

Control endpoints (on the proxy's own port; S3 bucket names cannot start with '_'):
    GET  /_faults/counts   {"operations": {"codebuild:UpdateProject": {"forwarded": n, "faulted": m}}}
    POST /_faults/reset    zero the counts and the per-operation sequence numbers
    POST /_faults/config   {"rate": 0.2, "latency_ms": 50, "operation_rates": {"sns:Publish": 1.0}}

Usage:
    python proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--rate 0.2] [--seed 1]
                    [--latency-ms 0] [--operation-rate codebuild:UpdateProject=1.0 ...]
Prints `listening on http://127.0.0.1:PORT` once it accepts connections; stops on SIGTERM, or with
--exit-with-stdin when its standard input closes (so a test that dies never leaves it behind).
"""

import argparse
import hashlib
import http.client
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}
JSON_SERVICES = {"codebuild", "logs", "events"}
# REST-JSON services: the operation from the method and path.
REST_JSON_OPERATIONS = {
    "securityhub": {("POST", "/findings/import"): "BatchImportFindings", ("POST", "/findings"): "GetFindings"},
}
QUERY_NAMESPACES = {
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}

# S3 operations by method and the query parameter that names them (first match wins); without one,
# the method on a bucket or an object.
S3_SUBRESOURCES = [
    ("POST", "delete", "DeleteObjects"),
    ("GET", "versioning", "GetBucketVersioning"),
    ("GET", "policy", "GetBucketPolicy"),
    ("GET", "list-type", "ListObjectsV2"),
    ("GET", "location", "GetBucketLocation"),
    ("GET", "uploads", "ListMultipartUploads"),
    ("PUT", "versioning", "PutBucketVersioning"),
]
S3_PLAIN = {
    ("GET", False): "ListObjects",
    ("GET", True): "GetObject",
    ("HEAD", False): "HeadBucket",
    ("HEAD", True): "HeadObject",
    ("PUT", False): "CreateBucket",
    ("PUT", True): "PutObject",
    ("DELETE", False): "DeleteBucket",
    ("DELETE", True): "DeleteObject",
}


def service_of(headers):
    """The signing name from SigV4's credential scope: .../<date>/<region>/<service>/aws4_request."""
    auth = headers.get("Authorization", "")
    marker = "Credential="
    if marker in auth:
        scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 5:
            return scope[3]
    target = headers.get("X-Amz-Target", "")
    if target.startswith("CodeBuild_"):
        return "codebuild"
    if target.startswith("Logs_"):
        return "logs"
    return "s3"


def operation_of(service, method, path, query, headers, body):
    if service in REST_JSON_OPERATIONS:
        return f"{service}:{REST_JSON_OPERATIONS[service].get((method, path), 'Unknown')}"
    if service in JSON_SERVICES or headers.get("X-Amz-Target"):
        return f"{service}:{headers.get('X-Amz-Target', '').rsplit('.', 1)[-1] or 'Unknown'}"
    if service in QUERY_NAMESPACES:
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", ["Unknown"])[0]
        return f"{service}:{action}"
    if service == "s3":
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        for m, param, name in S3_SUBRESOURCES:
            if method == m and param in params:
                return f"s3:{name}"
        has_key = len([p for p in path.split("/") if p]) > 1
        return f"s3:{S3_PLAIN.get((method, has_key), 'Unknown')}"
    return f"{service}:Unknown"


def fault_response(service, kind_bit):
    """(status, headers, body) of a throttling or server error in the service's wire format."""
    request_id = hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:16].upper()
    if service in REST_JSON_OPERATIONS:
        # Security Hub's throttling: 429 LimitExceededException (its API reference's common errors).
        body = json.dumps({"Code": "LimitExceededException", "Message": "Rate exceeded"}).encode()
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "LimitExceededException",
                   "x-amzn-RequestId": request_id}
        return 429, headers, body
    if service in JSON_SERVICES:
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}, body
    if service in QUERY_NAMESPACES:
        body = (
            f'<ErrorResponse xmlns="{QUERY_NAMESPACES[service]}"><Error><Type>Sender</Type>'
            f"<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body
    # S3: SlowDown (503) or InternalError (500), both documented as retryable.
    if kind_bit:
        status, code, message = 503, "SlowDown", "Please reduce your request rate."
    else:
        status, code, message = 500, "InternalError", "We encountered an internal error. Please try again."
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>fault-proxy</HostId></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body


class Faults:
    """The configuration, the per-operation sequence numbers and the counts, behind one lock."""

    def __init__(self, rate, seed, latency_ms, operation_rates):
        self.lock = threading.Lock()
        self.rate = rate
        self.seed = seed
        self.latency_ms = latency_ms
        self.operation_rates = dict(operation_rates)
        self.sequence = {}
        self.counts = {}

    def decide(self, operation):
        """(faulted, kind_bit) for the next request of this operation; counts it."""
        with self.lock:
            n = self.sequence.get(operation, 0)
            self.sequence[operation] = n + 1
            rate = self.operation_rates.get(operation, self.rate)
            digest = hashlib.sha256(f"{self.seed}|{operation}|{n}".encode()).digest()
            draw = int.from_bytes(digest[:8], "big") / 2**64
            faulted = draw < rate
            entry = self.counts.setdefault(operation, {"forwarded": 0, "faulted": 0})
            entry["faulted" if faulted else "forwarded"] += 1
            return faulted, digest[8] & 1

    def snapshot(self):
        with self.lock:
            return {"operations": json.loads(json.dumps(self.counts))}

    def reset(self):
        with self.lock:
            self.sequence.clear()
            self.counts.clear()

    def configure(self, changes):
        with self.lock:
            if "rate" in changes:
                self.rate = float(changes["rate"])
            if "latency_ms" in changes:
                self.latency_ms = float(changes["latency_ms"])
            if "operation_rates" in changes:
                self.operation_rates = {k: float(v) for k, v in changes["operation_rates"].items()}
            if "seed" in changes:
                self.seed = changes["seed"]


def make_handler(upstream, faults):
    target = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: tests read the counts, not a log
            pass

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def reply(self, status, headers, body, head=False):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if not any(n.lower() == "content-length" for n in headers):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and body:
                self.wfile.write(body)

        def control(self, body):
            if self.command == "GET" and self.path == "/_faults/counts":
                payload = faults.snapshot()
            elif self.command == "POST" and self.path == "/_faults/reset":
                faults.reset()
                payload = {"reset": True}
            elif self.command == "POST" and self.path == "/_faults/config":
                faults.configure(json.loads(body or b"{}"))
                payload = {"configured": True}
            else:
                self.reply(404, {"Content-Type": "application/json"}, b'{"error": "unknown control endpoint"}')
                return
            self.reply(200, {"Content-Type": "application/json"}, json.dumps(payload).encode())

        def handle_any(self):
            body = self.read_body()
            if self.path.startswith("/_faults/"):
                self.control(body)
                return
            path, _, query = self.path.partition("?")
            service = service_of(self.headers)
            operation = operation_of(service, self.command, path, query, self.headers, body)
            if faults.latency_ms:
                time.sleep(faults.latency_ms / 1000)
            faulted, kind_bit = faults.decide(operation)
            if faulted:
                status, headers, payload = fault_response(service, kind_bit)
                self.reply(status, headers, payload, head=self.command == "HEAD")
                return
            self.forward(body)

        def forward(self, body):
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                out = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
                if self.command != "HEAD":
                    out = {k: v for k, v in out.items() if k.lower() != "content-length"}
                self.reply(response.status, out, payload, head=self.command == "HEAD")
            finally:
                conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_any

    return Handler


def parse_operation_rate(text):
    operation, _, rate = text.partition("=")
    return operation, float(rate)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (printed)")
    parser.add_argument("--rate", type=float, default=0.0, help="share of requests faulted, 0-1")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added before every request")
    parser.add_argument(
        "--operation-rate",
        action="append",
        default=[],
        type=parse_operation_rate,
        help="service:Operation=RATE, overrides --rate for that operation (repeatable)",
    )
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when standard input closes")
    args = parser.parse_args(argv)
    if not 0.0 <= args.rate <= 1.0 or any(not 0.0 <= r <= 1.0 for _, r in args.operation_rate):
        parser.error("rates are shares between 0 and 1")
    faults = Faults(args.rate, args.seed, args.latency_ms, args.operation_rate)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.upstream, faults))
    server.daemon_threads = True
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)

    def stop_when_stdin_closes():
        try:
            while sys.stdin.read(1024):
                pass
        except (OSError, ValueError):
            pass
        server.shutdown()

    if args.exit_with_stdin:
        threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
