"""Writes long-build-100k.log: a CodeBuild build log of exactly 100,000 lines in the real formats
(CodeBuild's [Container] lines, a BuildKit plain-progress build whose `pip install` step prints
most of the lines, the cache restore and upload), for the log reader's memory benchmark
(scripts/bench-monitor-log.sh). Deterministic: the fixture is generated, not committed (8.9 MB).

Usage: python generate-long-log.py [OUT=long-build-100k.log]
"""

import sys

LINES = 100_000


def main(out):
    head = [
        "[Container] 2026/11/20 09:15:41.203114 Running on CodeBuild On-demand",
        "[Container] 2026/11/20 09:15:41.871093 Phase is DOWNLOAD_SOURCE",
        "[Container] 2026/11/20 09:15:41.991820 Expanded cache path /root/.cache/pip/**/*",
        "[Container] 2026/11/20 09:15:41.992301 Downloading S3 cache...",
        "[Container] 2026/11/20 09:15:46.771056 Unarchiving cache...",
        "[Container] 2026/11/20 09:15:49.618712 Moving to directory /codebuild/output/src2741/src",
        "[Container] 2026/11/20 09:22:43.190557 Entering phase BUILD",
        "[Container] 2026/11/20 09:22:43.191788 Running command docker build --progress=plain -t tts-service:latest .",
        '#0 building with "default" instance using docker driver',
        "#4 [ 1/20] FROM docker.io/pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel",
        "#4 DONE 0.0s",
        "#5 [ 2/20] WORKDIR /app",
        "#5 CACHED",
        "#6 [ 3/20] COPY requirements.txt .",
        "#6 DONE 0.1s",
        "#7 [ 4/20] RUN pip install --no-cache-dir -r requirements.txt",
    ]
    tail = ["#7 DONE 1104.7s"]
    for n in range(8, 24):
        tail += [f"#{n} [{n - 3:2d}/20] COPY part-{n} part-{n}", f"#{n} DONE 0.1s"]
    tail += [
        "[Container] 2026/11/20 09:45:59.012004 Phase complete: BUILD State: SUCCEEDED",
        "[Container] 2026/11/20 09:45:59.093861 Entering phase POST_BUILD",
        "[Container] 2026/11/20 09:48:31.770912 Uploading S3 cache...",
        "[Container] 2026/11/20 09:48:33.402118 Phase complete: POST_BUILD State: SUCCEEDED",
    ]
    middle = LINES - len(head) - len(tail)
    with open(out, "w") as f:
        for line in head:
            f.write(line + "\n")
        for i in range(middle):
            seconds = 1.0 + i * 0.011
            if i % 4 == 0:
                f.write(f"#7 {seconds:.3f} Collecting package-{i:06d}==1.{i % 97}.{i % 13} (from -r requirements.txt (line {i // 4 + 1}))\n")
            elif i % 4 == 1:
                f.write(f"#7 {seconds:.3f}   Downloading package_{i:06d}-1.{i % 97}.{i % 13}-py3-none-any.whl ({i % 900 + 12} kB)\n")
            elif i % 4 == 2:
                f.write(f"#7 {seconds:.3f}      ---------------------------------------- {i % 900 + 12}.0/{i % 900 + 12}.0 kB 48.1 MB/s eta 0:00:00\n")
            else:
                f.write(f"#7 {seconds:.3f} Requirement already satisfied: dependency-{i:06d} in /opt/conda/lib/python3.10/site-packages\n")
        for line in tail:
            f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "long-build-100k.log")
