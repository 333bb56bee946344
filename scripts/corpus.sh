#!/usr/bin/env bash
# The build-time monitor's labelled corpus (shared/tests/corpus/): runs the real monitor over every
# case against a fresh local emulator and prints, per case, the email wanted and sent, then the
# figures: builds, emails wanted, sent, misses, false alarms, precision and recall. Fails when a
# case is judged wrong (naming it). CORPUS_EMAILS=1 also prints every email as subscribers receive it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec bash "$ROOT/scripts/test.sh" -p cache-sentinel --test emulator --no-capture -E 'test(=corpus::the_monitor_judges_the_labelled_corpus)' "$@"
