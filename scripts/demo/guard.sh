# One part of scripts/demo.sh (sourced by it, which provides serve, invoke, $AWS, $TOPIC, $BUCKET, $PROJECT).
say "1. cache-guard"
echo "The project's cache, as the seed write-up checks it"
echo "(aws codebuild batch-get-projects --names $PROJECT --query 'projects[0].cache'):"
echo "Before:"; $AWS cache "$PROJECT"
serve
echo; echo "EventBridge delivers events/build-in-progress.json (build of $PROJECT started) to cache-guard:"
invoke cache-guard events/build-in-progress.json
echo; echo "After:"; $AWS cache "$PROJECT"
echo; echo "The same event delivered again (EventBridge delivers at least once) changes nothing:"
invoke cache-guard events/build-in-progress.json | grep -E '"outcome"|"reason"'
echo; echo "What the SNS subscribers received:"
$AWS notices "$TOPIC"

