# One part of scripts/demo.sh (sourced by it, which provides serve, invoke, $AWS, $TOPIC, $BUCKET, $PROJECT).
say "2. cache-pruner"
echo "The cache bucket holds cache objects of tts-service-build of various ages, and the cache of"
echo "old-prototype-build, a project deleted from CodeBuild long ago (an orphan):"
$AWS seed-objects "$BUCKET" \
  tts-service-build/8a1f0c-layers.tgz:62:52428800 tts-service-build/5d2e7b-pip.tgz:41:10485760 \
  tts-service-build/c93a10-layers.tgz:12:52428800 tts-service-build/77be42-pip.tgz:5:10485760 \
  tts-service-build/1f4c9d-layers.tgz:2:52428800 tts-service-build/e0aa31-pip.tgz:0.1:10485760 \
  old-prototype-build/3b7d55-layers.tgz:40:20971520 old-prototype-build/9c2e18-pip.tgz:38:5242880
$AWS list-objects "$BUCKET"
echo
echo "Policy (defaults): keep the 3 newest of each project, delete older than 30 days, never younger"
echo "than 24 hours, orphans after 7 days. The daily sweep (events/scheduled-sweep.json), as a dry run:"
serve DRY_RUN=true
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune-dry.json"
$AWS prune-plan "$ROOT/.emulator/prune-dry.json"
echo; echo "Nothing was deleted by the dry run:"; $AWS list-objects "$BUCKET"
echo; echo "The same sweep for real:"
serve
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune.json"
$AWS report "$ROOT/.emulator/prune.json" scanned deleted bytes_freed finished errors
echo; echo "Left in the bucket:"; $AWS list-objects "$BUCKET"
echo; echo "The pruner's summary notice:"
$AWS notices "$TOPIC"
serve

