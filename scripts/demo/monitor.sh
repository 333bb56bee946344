# One part of scripts/demo.sh (sourced by it, which provides serve, invoke, $AWS, $TOPIC, $BUCKET, $PROJECT).
say "3. build-time-monitor"
echo "EventBridge delivers events/build-succeeded.json: tts-service-build finished in 33 min 36 s."
invoke build-time-monitor events/build-succeeded.json | grep -E '"outcome"|"scenario"|"subject"|"expected' | head -8
echo; echo "Delivered again (at least once): the marker in the cache bucket keeps it to one email:"
invoke build-time-monitor events/build-succeeded.json | grep -E '"outcome"' | head -2
echo; echo "The email, as the SNS subscriber receives it:"
$AWS notices "$TOPIC"

