"""Runs the end-to-end part of scripts/bench-pruner.sh (which builds, starts moto for CodeBuild and
sets the environment) and prints the tables.

For each latency: a fresh fake S3 (scripts/bench/fake_s3.py) with that sleep per request. For each
size: the bucket is seeded (scripts/bench/dataset.py, the same data every time), cache-pruner runs
once as a process (examples/prune_local.rs), the survivors are digested; the bucket is seeded again
and the sequential peer (scripts/bench/sequential_pruner.py) runs; both must leave exactly the same
keys, or the benchmark fails. Growth sizes at one latency run cache-pruner alone.

Each process runs under /usr/bin/time -v (peak RSS); wall time is measured around the process.
"""

import json
import math
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dataset  # noqa: E402

BUCKET = "bench-cache"
RESERVED = ".cache-sentinel/"


def env_list(name, default):
    return [int(x) for x in os.environ.get(name, default).split()]


class FakeS3:
    def __init__(self, latency_ms, out):
        self.log = open(os.path.join(out, f"fake-{latency_ms}.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_s3.py"), "--port", "0", "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the fake S3 did not start; see {self.log.name}")
        self.url = f"http://127.0.0.1:{json.loads(line)['listening']}"

    def call(self, path, body=None, raw=False):
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data, method="POST" if data or path.endswith("reset") else "GET"), timeout=600) as r:
            out = r.read()
        return out if raw else json.loads(out)

    def seed(self, objects, locations):
        self.call("/_bench/seed", {"bucket": BUCKET, "dataset": {"objects": objects, "locations": locations, "seed": 42}})
        self.call("/_bench/reset", {})

    def survivors(self, path):
        with open(path, "wb") as f:
            f.write(self.call(f"/_bench/keys?bucket={BUCKET}&exclude={RESERVED}", raw=True))
        return self.call(f"/_bench/digest?bucket={BUCKET}&exclude={RESERVED}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def timed(command, env, out_prefix):
    """Runs a command under /usr/bin/time -v: (stdout JSON, wall seconds, peak RSS KiB)."""
    started = time.monotonic()
    with open(out_prefix + ".out", "w") as out, open(out_prefix + ".time", "w") as err:
        code = subprocess.call(["/usr/bin/time", "-v", *command], env=env, stdout=out, stderr=err)
    wall = time.monotonic() - started
    text = open(out_prefix + ".time").read()
    if code != 0:
        sys.stderr.write(text[-4000:])
        raise SystemExit(f"{command[0]} failed with exit code {code} (output in {out_prefix}.*)")
    rss = next(int(line.split(":")[1]) for line in text.splitlines() if "Maximum resident set size" in line)
    lines = [line for line in open(out_prefix + ".out").read().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]), wall, rss


def run(kind, fake, objects, latency, args, out):
    fake.seed(objects, args["locations"])
    env = dict(os.environ, AWS_ENDPOINT_URL_S3=fake.url)
    prefix = os.path.join(out, f"{kind}-{objects}-{latency}")
    if kind == "cache-pruner":
        env.update(CACHE_BUCKET=BUCKET, RUST_LOG="warn", PRUNE_MAX_DELETES_PER_RUN=str(max(objects, 1)))
        command = [args["prune_local"]]
    else:
        command = [sys.executable, os.path.join(HERE, "sequential_pruner.py"), "--bucket", BUCKET]
    sys.stderr.write(f"== {kind}: {objects} objects, {latency} ms per request\n")
    report, wall, rss = timed(command, env, prefix)
    counts = fake.call("/_bench/counts")
    digest = fake.survivors(prefix + ".survivors")
    if counts.get("s3:ListObjectsV2", 0) < math.ceil(objects / 1000):
        raise SystemExit(f"{kind}: the fake S3 served only {counts} for {objects} objects: is AWS_ENDPOINT_URL_S3 honoured?")
    result = {"kind": kind, "objects": objects, "latency_ms": latency, "wall_s": wall, "rss_kib": rss, "load": os.getloadavg()[0], "report": report, "counts": counts, "digest": digest}
    json.dump(result, open(prefix + ".json", "w"))
    sys.stderr.write(f"   {wall:.1f} s, {objects / wall:.0f} objects/s, peak RSS {rss / 1024:.1f} MiB, {digest['objects']} left, load {result['load']:.1f}\n")
    return result


def compare(a, b):
    if a["digest"] != b["digest"]:
        left = set(open(os.path.join(OUT, f"{a['kind']}-{a['objects']}-{a['latency_ms']}.survivors")).read().splitlines())
        right = set(open(os.path.join(OUT, f"{b['kind']}-{b['objects']}-{b['latency_ms']}.survivors")).read().splitlines())
        only_a, only_b = sorted(left - right)[:10], sorted(right - left)[:10]
        raise SystemExit(
            f"survivors differ at {a['objects']} objects, {a['latency_ms']} ms: {a['kind']} {a['digest']} vs {b['kind']} {b['digest']}\n"
            f"  only after {a['kind']}: {only_a}\n  only after {b['kind']}: {only_b}"
        )
    for path in (a, b):
        os.remove(os.path.join(OUT, f"{path['kind']}-{path['objects']}-{path['latency_ms']}.survivors"))


OUT = ""


def main():
    global OUT
    OUT = sys.argv[1]
    args = {"prune_local": sys.argv[2], "locations": int(os.environ.get("LOCATIONS", "300"))}
    sizes = env_list("SIZES", "100000 1000000")
    latencies = env_list("LATENCIES", "0 50 200")
    growth = env_list("GROWTH", "10000 100000 300000 1000000")
    growth_latency = int(os.environ.get("GROWTH_LATENCY_MS", "50"))
    results = []
    for latency in sorted(set(latencies) | ({growth_latency} if growth else set())):
        fake = FakeS3(latency, OUT)
        try:
            if latency in latencies:
                for objects in sizes:
                    pruner = run("cache-pruner", fake, objects, latency, args, OUT)
                    peer = run("sequential", fake, objects, latency, args, OUT)
                    compare(pruner, peer)
                    results += [pruner, peer]
            if latency == growth_latency:
                for objects in growth:
                    if not (latency in latencies and objects in sizes):
                        results.append(run("cache-pruner", fake, objects, latency, args, OUT))
        finally:
            fake.stop()
    for name in os.listdir(OUT):
        if name.endswith(".survivors"):
            os.remove(os.path.join(OUT, name))
    json.dump(
        {"results": results, "locations": args["locations"], "location_sizes": {str(n): [c for _, c in dataset.location_sizes(n, args["locations"])] for n in set(sizes) | set(growth)}, "growth_latency_ms": growth_latency},
        open(os.path.join(OUT, "results.json"), "w"),
    )


if __name__ == "__main__":
    main()
