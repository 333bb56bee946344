"""moto in server mode, plus what moto lacks: the CodeBuild UpdateProject and EventBridge
TestEventPattern APIs, CodeBuild build timestamps as AWS sends them (epoch seconds), and S3
GetBucketVersioning with AWS's documented <VersioningConfiguration> document (moto 5.2.1 answers
with another root element, which AWS SDKs reject).

S3 requests are served one at a time: moto keeps a bucket's keys in a dictionary that a listing
iterates while a concurrent DeleteObjects on the same bucket removes keys from it, and the listing
then fails with a 500 (KeyError); S3 answers such requests consistently.

One emulator-only aid, for demos and end-to-end tests of age-based logic through the real
binaries: an object put with the user metadata `emulator-age-seconds: N` (header
`x-amz-meta-emulator-age-seconds`) gets a LastModified N seconds in the past. Real S3 has no such
thing; the functions never send it.

UpdateProject follows the AWS CodeBuild API reference: only the fields given in the request are
changed (a partial update), the project is returned as it is after the update, an unknown project
is a ResourceNotFoundException and an invalid cache setting an InvalidInputException.

TestEventPattern follows the EventBridge API reference: the Event must be JSON with the mandatory
fields id, account, source, time, region, resources and detail-type (else a ValidationException),
an invalid pattern is an InvalidEventPatternException, and the answer is {"Result": true|false}. The
matching is moto's own EventPattern engine, the one moto routes PutEvents to rules with.

Usage: python moto_server.py --port PORT [--host 127.0.0.1]
"""

import json
import re
import sys
import threading

from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
from moto.codebuild.responses import CodeBuildResponse
from moto.core.utils import unix_time
from moto.s3.models import FakeKey
from moto.s3.responses import S3Response
from moto.events.exceptions import ValidationException
from moto.events.models import EventPattern
from moto.events.responses import EventsHandler
from moto.utilities.utils import get_partition

CACHE_TYPES = ("NO_CACHE", "S3", "LOCAL")
CACHE_MODES = ("LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# Request member -> key in moto's stored project metadata (the same JSON names as the API).
UPDATABLE_FIELDS = (
    "description",
    "source",
    "secondarySources",
    "sourceVersion",
    "secondarySourceVersions",
    "artifacts",
    "secondaryArtifacts",
    "cache",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
    "queuedTimeoutInMinutes",
    "encryptionKey",
    "tags",
    "vpcConfig",
    "logsConfig",
    "fileSystemLocations",
    "buildBatchConfig",
    "concurrentBuildLimit",
    "autoRetryLimit",
)


def validate_cache(cache):
    """The ProjectCache rules of the API reference; raises InvalidInputException."""
    if not isinstance(cache, dict):
        raise InvalidInputException("Invalid cache: cache must be an object")
    cache_type = cache.get("type")
    if cache_type not in CACHE_TYPES:
        raise InvalidInputException(
            f"Invalid cache type: {cache_type!r}; valid values are NO_CACHE, S3, LOCAL"
        )
    location = cache.get("location")
    modes = cache.get("modes") or []
    if cache_type == "S3":
        if not location:
            raise InvalidInputException("Invalid cache: location must be specified when cache type is S3")
        bucket = location.split("/", 1)[0]
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise InvalidInputException(f"Invalid cache: location {location!r} does not name a valid S3 bucket")
        if modes:
            raise InvalidInputException("Invalid cache: modes can only be specified when cache type is LOCAL")
    elif cache_type == "LOCAL":
        if not modes:
            raise InvalidInputException("Invalid cache: at least one mode must be specified when cache type is LOCAL")
        bad = [m for m in modes if m not in CACHE_MODES]
        if bad:
            raise InvalidInputException(f"Invalid cache mode(s): {', '.join(map(str, bad))}")
        if location:
            raise InvalidInputException("Invalid cache: location can only be specified when cache type is S3")
    else:  # NO_CACHE
        if location or modes:
            raise InvalidInputException("Invalid cache: NO_CACHE takes no location or modes")


def update_project(self):
    name = self._get_param("name")
    if not name:
        raise InvalidInputException("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
    backend = self.codebuild_backend
    project = backend.codebuild_projects.get(name)
    if project is None:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:{self.region}:{self.current_account}:project/{name}"
        )
    updates = {field: self._get_param(field) for field in UPDATABLE_FIELDS if self._get_param(field) is not None}
    if "cache" in updates:
        validate_cache(updates["cache"])
    if "timeoutInMinutes" in updates and not 5 <= int(updates["timeoutInMinutes"]) <= 2160:
        raise InvalidInputException("Invalid timeoutInMinutes: must be between 5 and 2160")
    # Validate everything before changing anything: a rejected request leaves the project as it was.
    metadata = project.project_metadata
    for field, value in updates.items():
        metadata[field] = value
        if field == "tags":
            project.tags = value
        if field == "serviceRole":
            project.service_role = value
    metadata["lastModifiedDate"] = unix_time()
    return json.dumps({"project": metadata})


CodeBuildResponse.update_project = update_project

# TestEventPattern: fields the API reference makes mandatory in the Event.
EVENT_MANDATORY_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def test_event_pattern(self):
    raw_pattern = self._get_param("EventPattern")
    raw_event = self._get_param("Event")
    if not raw_pattern or not raw_event:
        missing = "EventPattern" if not raw_pattern else "Event"
        raise ValidationException(f"1 validation error detected: Value null at '{missing}' failed to satisfy constraint: Member must not be null")
    pattern = EventPattern.load(raw_pattern)  # InvalidEventPatternException when invalid
    try:
        event = json.loads(raw_event)
    except ValueError:
        raise ValidationException("Parameter Event is not valid.")
    if not isinstance(event, dict) or any(field not in event for field in EVENT_MANDATORY_FIELDS):
        raise ValidationException("Parameter Event is not valid.")
    return json.dumps({"Result": pattern.matches_event(event)})


EventsHandler.test_event_pattern = test_event_pattern


# CodeBuild speaks AWS JSON 1.1, where timestamps are epoch seconds (numbers); moto sends builds'
# startTime/endTime as ISO 8601 strings, which the AWS SDKs reject. Convert them on the way out.
BUILD_TIME_FIELDS = ("startTime", "endTime")


def _epoch(value):
    if isinstance(value, str):
        from datetime import datetime, timezone

        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:  # moto writes phase times without a zone; they are UTC
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    return value


def _fix_build(build):
    if not isinstance(build, dict):
        return build
    build = dict(build)
    for field in BUILD_TIME_FIELDS:
        if field in build:
            build[field] = _epoch(build[field])
    build["phases"] = [
        {k: (_epoch(v) if k in BUILD_TIME_FIELDS else v) for k, v in phase.items()} for phase in build.get("phases") or []
    ]
    return build


def _with_epoch_times(original):
    def wrapper(self):
        body = json.loads(original(self))
        if "build" in body:
            body["build"] = _fix_build(body["build"])
        if "builds" in body:
            body["builds"] = [_fix_build(b) for b in body["builds"]]
        return json.dumps(body)

    return wrapper


for _operation in ("start_build", "batch_get_builds", "stop_build"):
    setattr(CodeBuildResponse, _operation, _with_epoch_times(getattr(CodeBuildResponse, _operation)))


def _backdating(original):
    def set_metadata(self, metadata, replace=False):
        original(self, metadata, replace)
        age = None
        for name, value in (metadata or {}).items():
            if name.lower() == "x-amz-meta-emulator-age-seconds":
                age = value
        if age is not None:
            import datetime

            from moto.core.utils import utcnow

            self.last_modified = utcnow() - datetime.timedelta(seconds=float(age))

    return set_metadata


FakeKey.set_metadata = _backdating(FakeKey.set_metadata)


def get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = get_bucket_versioning

# One S3 request at a time (see the module's docstring); re-entrant, as an ambiguous request is
# answered by bucket_response or key_response.
S3_LOCK = threading.RLock()


def _one_at_a_time(original):
    def serialized(self, *args, **kwargs):
        with S3_LOCK:
            return original(self, *args, **kwargs)

    return serialized


for _operation in ("bucket_response", "key_response"):
    setattr(S3Response, _operation, _one_at_a_time(getattr(S3Response, _operation)))


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
