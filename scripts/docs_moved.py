#!/usr/bin/env python3
"""Nothing the README said is lost when it moves into docs/: every heading, table row and line of
the README at a git revision is found in today's README.md and docs/*.md.

    python3 scripts/docs_moved.py REV     # e.g. the commit before the README was split

Lines are compared with their whitespace collapsed, heading marks dropped and link targets
removed (a moved page links `deploy.md` where the README linked `docs/deploy.md`). Prints what is
missing and exits 1, or the counts checked and exits 0.
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# README sections whose every statement a page already made in its own words when the README was
# split (the README kept a five-line version): section heading -> the page.
SAID_ELSEWHERE = {"Deploying to AWS": "docs/deploy.md"}

# Lines whose words changed on purpose when they moved: the start of the old line -> why.
REWORDED = {
    "command line, below) over": "docs/testing.md: 'below' became a link to cli.md",
    "- **Configuration**: the Lambdas' variables (above)": "docs/cli.md: 'above' became a link to configuration.md",
}


def normal(line):
    line = re.sub(r"\]\([^)]*\)", "]", line)
    line = re.sub(r"^#+\s*", "", line.strip())
    return " ".join(line.split())


def kinds(text):
    """(heading, table row, line) lists of the text's non-blank lines, normalised, and the lines
    exempted (SAID_ELSEWHERE, REWORDED) with the reason."""
    headings, rows, lines, exempt = [], [], [], []
    fence = False
    section = ""
    for raw in text.splitlines():
        if raw.startswith("```"):
            fence = not fence
            continue
        line = normal(raw)
        if not line or re.fullmatch(r"[|:\- ]+", line):
            continue
        if not fence and raw.startswith("## "):
            section = line
        if section in SAID_ELSEWHERE and not raw.startswith("## "):
            exempt.append((line, f"said in {SAID_ELSEWHERE[section]}"))
            continue
        why = next((w for start, w in REWORDED.items() if raw.startswith(start)), None)
        if why:
            exempt.append((line, why))
            continue
        if not fence and raw.startswith("#"):
            headings.append(line)
        elif not fence and raw.lstrip().startswith("|"):
            rows.append(line)
        else:
            lines.append(line)
    return headings, rows, lines, exempt


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    old = subprocess.run(
        ["git", "-C", ROOT, "show", f"{sys.argv[1]}:README.md"], capture_output=True, text=True, check=True
    ).stdout
    pages = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    new_lines = set()
    new_text = []
    for page in pages:
        with open(page, encoding="utf-8") as f:
            for raw in f.read().splitlines():
                new_lines.add(normal(raw))
                new_text.append(normal(raw))
    joined = " ".join(new_text)
    missing = []
    h, r, l, exempt = kinds(old)
    for kind, items in zip(("heading", "table row", "line"), (h, r, l)):
        for item in items:
            # A heading or row must be whole; a line may have been rewrapped inside a paragraph.
            found = item in new_lines if kind != "line" else item in new_lines or item in joined
            if not found:
                missing.append(f"{kind}: {item}")
    if missing:
        print(f"{len(missing)} of the README's items at {sys.argv[1]} are not in README.md or docs/:")
        print("\n".join(f"  {m}" for m in missing))
        sys.exit(1)
    print(f"all {len(h)} headings, {len(r)} table rows and {len(l)} lines of README.md at {sys.argv[1]} are in README.md or docs/")
    reasons = {}
    for _, why in exempt:
        reasons[why] = reasons.get(why, 0) + 1
    for why, n in reasons.items():
        print(f"  {n} line(s) not compared: {why}")


if __name__ == "__main__":
    main()
