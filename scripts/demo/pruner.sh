# One part of scripts/demo.sh (sourced by it, which provides serve, invoke, $AWS, $TOPIC, $BUCKET, $PROJECT).
say "2. cache-pruner"
echo "The cache bucket is shared: besides the cache of $PROJECT (the guard just put it at"
echo "$BUCKET/$PROJECT) it holds the cache of tts-api at a custom prefix (team-cache/tts-api),"
echo "the cache of old-prototype-build, and things that are not cache at all: releases/, tf.backups/"
echo "and a terraform.tfstate at the bucket root."
$AWS create-project tts-api "$BUCKET/team-cache/tts-api"
$AWS create-project old-prototype-build "$BUCKET/old-prototype-build"
$AWS seed-objects "$BUCKET" \
  "$PROJECT/8a1f0c-layers.tgz:62:52428800" "$PROJECT/5d2e7b-pip.tgz:41:10485760" \
  "$PROJECT/c93a10-layers.tgz:12:52428800" "$PROJECT/77be42-pip.tgz:5:10485760" \
  "$PROJECT/1f4c9d-layers.tgz:2:52428800" "$PROJECT/e0aa31-pip.tgz:0.1:10485760" \
  team-cache/tts-api/4c1d2e-deps.tgz:40:20971520 \
  old-prototype-build/3b7d55-layers.tgz:40:20971520 old-prototype-build/9c2e18-pip.tgz:38:5242880 \
  releases/app-1.38.0.zip:90:4194304 releases/app-1.39.0.zip:60:4194304 releases/app-1.40.0.zip:31:4194304 \
  tf.backups/state-1.tfstate:120:65536 tf.backups/state-2.tfstate:95:65536 tf.backups/state-3.tfstate:70:65536 \
  tf.backups/state-4.tfstate:45:65536 terraform.tfstate:20:65536
$AWS list-objects "$BUCKET"
echo
echo "A NO_CACHE project named releases, created 30 days ago: healing it would point it at"
echo "$BUCKET/releases and make the release archives its cache. The guard looks first (one page):"
$AWS no-cache-project releases "$BUCKET" 30
sed 's/"tts-service-build"/"releases"/' events/build-in-progress.json > "$EMULATOR_STATE/releases-build.json"
invoke cache-guard "$EMULATOR_STATE/releases-build.json" | grep -E '"outcome"|"reason"'
echo; echo "Refused, and the notice says where the cache could live instead:"
$AWS notices "$TOPIC"
echo
echo "The pruner learns the cache locations from CodeBuild and touches nothing else. Policy (defaults):"
echo "keep the 3 newest of each location however old, delete older than 30 days, never younger than"
echo "24 hours. The daily sweep (events/scheduled-sweep.json), as a dry run:"
serve DRY_RUN=true
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune-dry.json"
$AWS prune-plan "$ROOT/.emulator/prune-dry.json"
echo; echo "Nothing was deleted by the dry run. The same sweep for real:"
serve
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune.json"
$AWS prune-report "$ROOT/.emulator/prune.json"
echo
echo "Left in the bucket: the 3 newest of $PROJECT, tts-api's only (40-day-old) cache object, both of"
echo "old-prototype-build's, every release and Terraform backup, and the root's terraform.tfstate:"
$AWS list-objects "$BUCKET"
echo; echo "The pruner's summary notice:"
$AWS notices "$TOPIC"
echo
echo "old-prototype-build is deleted from CodeBuild. Its location is not an orphan yet: the next sweep"
echo "sees it missing and keeps it for PRUNE_ORPHAN_GRACE_DAYS (7) from that moment, not from the age"
echo "of its objects (a 40-day-old cache of a project deleted a minute ago stays):"
$AWS delete-project old-prototype-build
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune-2.json"
$AWS prune-report "$ROOT/.emulator/prune-2.json"
serve
