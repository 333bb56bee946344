# One part of scripts/demo.sh (sourced by it, which provides serve, invoke, $AWS, $TOPIC, $BUCKET, $PROJECT).
say "3. build-time-monitor"
BUILDS="$ROOT/.venv/bin/python scripts/demo/monitor_builds.py"
echo "The build's log is in CloudWatch Logs (events/logs/buildkit-partly-cached.log) and CodeBuild uploaded its cache."
$BUILDS sample-log "$BUCKET" 2>/dev/null
echo "EventBridge delivers events/build-succeeded.json: tts-service-build finished in 33 min 36 s."
invoke build-time-monitor events/build-succeeded.json | grep -E '"outcome"|"subject"|"judged_seconds"|"restored"|"cached"|"rebuilt"|"first_rebuilt"' | head -8
echo; echo "Its figures, as the CloudWatch metric line (Embedded Metric Format) the function writes to its log:"
for _ in $(seq 1 50); do grep -q '"BuildOwnMinutes"' "$ROOT/.emulator/watch.out" 2>/dev/null && break; sleep 0.1; done
grep -h '"BuildOwnMinutes"' "$ROOT/.emulator/watch.out" | tail -1
echo; echo "Delivered again (at least once): the marker in the cache bucket keeps it to one email:"
invoke build-time-monitor events/build-succeeded.json | grep -E '"outcome"' | head -2
echo; echo "The email, as the SNS subscriber receives it:"
$AWS notices "$TOPIC"

echo; echo "tts-worker-build's buildspec has no cache: section. Four fast builds (2 minutes each) finish:"
DEMO_EVENTS="$(mktemp -d)"
for n in 1 2 3 4; do
  $BUILDS worker-build "$n" "$BUCKET" "$DEMO_EVENTS/worker-$n.json" 2>/dev/null
  printf '  build %s: ' "$n"
  (invoke build-time-monitor "$DEMO_EVENTS/worker-$n.json" 2>"$DEMO_EVENTS/error" || cat "$DEMO_EVENTS/error") | $BUILDS outcome
done
rm -rf "$DEMO_EVENTS"
echo; echo "The third build completed the streak: one \"cache not effective\" notice, and no more for the fourth:"
$AWS notices "$TOPIC"
