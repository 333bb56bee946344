# One part of scripts/demo.sh (sourced by it, which provides serve, invoke, $AWS, $TOPIC, $BUCKET, $PROJECT).
say "1. cache-guard"
echo "The project's cache, as the seed write-up checks it"
echo "(aws codebuild batch-get-projects --names $PROJECT --query 'projects[0].cache'):"
echo "Before:"; $AWS cache "$PROJECT"
# The project's service role may read and write the cache: the guard checks that before it switches.
$AWS service-role codebuild-tts-service "$BUCKET"
serve
echo; echo "EventBridge delivers events/build-in-progress.json (build of $PROJECT started) to cache-guard:"
invoke cache-guard events/build-in-progress.json
echo; echo "After:"; $AWS cache "$PROJECT"
echo; echo "The same event delivered again (EventBridge delivers at least once) changes nothing:"
invoke cache-guard events/build-in-progress.json | grep -E '"outcome"|"reason"'
echo; echo "What the SNS subscribers received:"
$AWS notices "$TOPIC"

echo; echo "A second project whose service role may only read the cache is not switched (its builds"
echo "could not write the cache); the notice gives the statement to add:"
$AWS service-role codebuild-tts-readonly "$BUCKET" read-only
$AWS project tts-readonly-build codebuild-tts-readonly
sed 's/"tts-service-build"/"tts-readonly-build"/' events/build-in-progress.json > "$EMULATOR_STATE/readonly-build.json"
invoke cache-guard "$EMULATOR_STATE/readonly-build.json" | grep -E '"outcome"'
$AWS notices "$TOPIC"
