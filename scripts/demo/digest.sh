# Part of scripts/demo.sh (sourced): the weekly digest. A week of tts-service-build's builds in
# CodeBuild's history; the digest's schedule invokes build-time-monitor with
# events/digest-request.json; the email, as the subscriber receives it.
say "4. The weekly digest (build-time-monitor, on its Monday schedule)"
echo "A week of tts-service-build's builds, each declaring its scenario (CACHE_SENTINEL_SCENARIO):"
"$ROOT/.venv/bin/python" scripts/demo/monitor_builds.py week "$PROJECT" 2>/dev/null
echo; echo "The schedule sends events/digest-request.json (the seven whole days before today, UTC):"
invoke build-time-monitor events/digest-request.json | grep -E '"outcome"|"subject"|"builds"|"minutes_over"' | head -4
echo; echo "The digest, as the SNS subscriber receives it:"
$AWS notices "$TOPIC"
