"""moto in server mode, plus what moto lacks: the CodeBuild UpdateProject and EventBridge
TestEventPattern APIs, CodeBuild build timestamps as AWS sends them (epoch seconds), and S3
GetBucketVersioning with AWS's documented <VersioningConfiguration> document (moto 5.2.1 answers
with another root element, which AWS SDKs reject).

S3 requests are served one at a time: moto keeps a bucket's keys in a dictionary that a listing
iterates while a concurrent DeleteObjects on the same bucket removes keys from it, and the listing
then fails with a 500 (KeyError); S3 answers such requests consistently.

A bucket is in the region of its LocationConstraint, as in S3: a request signed for another region
(SigV4's credential scope names it; the endpoint is a loopback address) is answered with S3's 301
Moved Permanently and the header x-amz-bucket-region, with no body for a HEAD and the XML error
PermanentRedirect for anything else (moto answers 200 from any region).

Emulator-only aids, for demos and end-to-end tests of age-based logic through the real
binaries: an object put with the user metadata `emulator-age-seconds: N` (header
`x-amz-meta-emulator-age-seconds`) gets a LastModified N seconds in the past; a build started with
the environment variable override `EMULATOR_STARTED_SECONDS_AGO=N` starts N seconds in the past,
and with `EMULATOR_KEEP_RUNNING=true` stays IN_PROGRESS when read (moto completes every build it
reads). A build started with the override
`EMULATOR_BUILD` (JSON: start, status, phases, exported variables, source version) is reported
exactly so, for deterministic build-time reports, and builds are numbered 1, 2, 3... per project. A
project created with the environment variable EMULATOR_CREATED_SECONDS_AGO=N reports a `created`
date N seconds in the past (the test fixtures' projects are a year old, so backdated cache objects do
not predate them).
Real AWS has no such things; the functions never send them.

CodeBuild listings follow the API reference: ListProjects, ListBuilds and ListBuildsForProject
return at most 100 items and a nextToken (moto returns everything at once, unsorted); ListBuilds
and ListBuildsForProject list newest first unless sortOrder is ASCENDING; an unknown nextToken is
an InvalidInputException. BatchGetBuilds takes at most 100 ids (else InvalidInputException) and
names the ids it does not know in buildsNotFound.

UpdateProject follows the AWS CodeBuild API reference: only the fields given in the request are
changed (a partial update), the project is returned as it is after the update, an unknown project
is a ResourceNotFoundException and an invalid cache setting an InvalidInputException. Projects are
answered with the API's `lastModified` (moto stores it as `lastModifiedDate`), which every update
moves.

TestEventPattern follows the EventBridge API reference: the Event must be JSON with the mandatory
fields id, account, source, time, region, resources and detail-type (else a ValidationException),
an invalid pattern is an InvalidEventPatternException, and the answer is {"Result": true|false}. The
matching is moto's own EventPattern engine, the one moto routes PutEvents to rules with.

SimulatePrincipalPolicy follows the IAM API reference: the policies of the user, group or role named
by PolicySourceArn (inline and attached managed policies; a user's groups; a permissions boundary
limits what they allow) are evaluated for each action on each resource: an explicit Deny wins, then
an Allow, else implicitDeny. Action names match case-insensitively, resources case-sensitively,
both with the `*` and `?` wildcards; NotAction and NotResource are honoured. A statement's Condition
is evaluated against the request's ContextEntries (String*, Arn* and Bool operators, with IfExists);
a key the context lacks fails its test and is reported in MissingContextValues, as is a key under an
operator not evaluated here. One EvaluationResult per action, with ResourceSpecificResults per resource. Errors:
NoSuchEntity for an entity that does not exist, InvalidInput for a malformed ARN or action name,
ValidationError for a missing required parameter.

CreateFleet and BatchGetFleets (CodeBuild reserved-capacity fleets) keep what the guard reads:
name, arn, capacity, environment and compute type, status and overflowBehavior (QUEUE or ON_DEMAND,
QUEUE by default); BatchGetFleets takes names or ARNs and lists the unknown ones in fleetsNotFound.

BatchImportFindings and GetFindings (Security Hub) follow the API reference where moto is lenient:
a batch holds 1 to 100 findings (else InvalidInputException); a finding that lacks one of ASFF's
required fields (SchemaVersion, Id, ProductArn, GeneratorId, AwsAccountId, Types, CreatedAt,
UpdatedAt, Severity, Title, Description, Resources) or whose ProductArn is not a Security Hub
product ARN is refused in the 200 answer's FailedFindings (InvalidInput, naming the field), not
stored; a finding is the same finding when its Id and ProductArn are, and an import replaces it
whole but for its Workflow, which a provider's import cannot change once it exists: a new finding's
workflow is NEW, and an ARCHIVED finding imported ACTIVE again goes back from RESOLVED or NOTIFIED
to NEW. BatchUpdateFindings (which moto lacks) sets the Workflow of 1 to 100 findings, naming the
unknown ones in UnprocessedFindings. GetFindings applies the StringFilters of top-level string fields (EQUALS, PREFIX,
NOT_EQUALS, PREFIX_NOT_EQUALS; values of one field OR-ed, NOT_ filters AND-ed, fields AND-ed) and
pages by MaxResults (moto ignores Filters and returns every finding).

STS AssumeRole follows IAM's rules where moto lets anything through: the role must exist in its
account and its trust policy must allow the caller's account (a principal `arn:aws:iam::<account>:root`,
the bare account id, the caller's own ARN, or `*`) the action sts:AssumeRole, else AccessDenied (403)
with AWS's message ("User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role>").
Every account of the emulator stands for a member of the organisation the default account
(123456789012) manages: OrganizationAccountAccessRole, which Organizations creates in every account
it creates, trusting the management account, is there in each (tests set other accounts up through
it, as administrators do).

Bucket policies: a statement applies only when its Condition holds, as in IAM's evaluation (moto
skips operators it lacks, Bool among them, and holds a test of a key the request lacks, so a `Deny`
on `aws:SecureTransport: false` refused every request). moto has no request context for S3, so
every key is missing: a test of it is false, but for negated operators, `...IfExists` and `Null`,
as the IAM User Guide says of missing keys. A TLS request outside any organisation finds the same
in S3.

Organizations ListAccounts answers as the API reference says: only the management account and a
delegated administrator (answered with the organisation's accounts) may call it; another member
account gets AccessDeniedException, an account outside any organisation
AWSOrganizationsNotInUseException (moto answered each with its own empty list).

Usage: python moto_server.py --port PORT [--host 127.0.0.1]
"""

import json
import re
import sys
import threading
from urllib.parse import urlparse

from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
from moto.codebuild.responses import CodeBuildResponse
from moto.core.utils import extract_region_from_aws_authorization, unix_time
from moto.s3.models import FakeKey, s3_backends
from moto.s3.responses import S3Response
from moto.s3.utils import bucket_name_from_url
from moto.s3bucket_path.utils import bucket_name_from_url as bucketpath_bucket_name_from_url
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
    return json.dumps({"project": _with_last_modified(metadata)})


def _with_last_modified(project):
    """The API names the field `lastModified`; moto stores `lastModifiedDate`. Answer both."""
    if isinstance(project, dict) and "lastModifiedDate" in project:
        project = dict(project, lastModified=project["lastModifiedDate"])
    return project


def _projects_with_last_modified(original):
    def wrapper(self):
        body = json.loads(original(self))
        if "projects" in body:
            body["projects"] = [_with_last_modified(p) for p in body["projects"]]
        if "project" in body:
            body["project"] = _with_last_modified(body["project"])
        return json.dumps(body)

    return wrapper


for _operation in ("batch_get_projects", "create_project"):
    setattr(CodeBuildResponse, _operation, _projects_with_last_modified(getattr(CodeBuildResponse, _operation)))


# Emulator-only aid, for tests of what predates a project: a project created with the environment
# variable EMULATOR_CREATED_SECONDS_AGO=N reports a `created` date N seconds in the past (moto
# stamps the wall clock). Real CodeBuild has no such thing; cache-sentinel never sends it.
def _created_in_the_past(original):
    def wrapper(self):
        body = original(self)
        variables = (self._get_param("environment") or {}).get("environmentVariables") or []
        for variable in variables:
            if variable.get("name") == "EMULATOR_CREATED_SECONDS_AGO":
                project = self.codebuild_backend.codebuild_projects.get(self._get_param("name"))
                if project is not None:
                    project.project_metadata["created"] = unix_time() - float(variable.get("value") or 0)
                    parsed = json.loads(body)
                    parsed.get("project", {})["created"] = project.project_metadata["created"]
                    body = json.dumps(parsed)
        return body

    return wrapper


CodeBuildResponse.create_project = _created_in_the_past(CodeBuildResponse.create_project)


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


setattr(CodeBuildResponse, "stop_build", _with_epoch_times(CodeBuildResponse.stop_build))


# CodeBuild listings: pages of 100 with an opaque nextToken, newest first (see the module doc).
PAGE_SIZE = 100
KEEP_RUNNING = set()  # build ids started with EMULATOR_KEEP_RUNNING=true


def _page(self, items, key):
    token = self._get_param("nextToken")
    start = 0
    if token:
        if not token.startswith("page-") or not token[5:].isdigit():
            raise InvalidInputException("Invalid nextToken")
        start = int(token[5:])
    body = {key: items[start : start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(items):
        body["nextToken"] = f"page-{start + PAGE_SIZE}"
    return json.dumps(body)


def _builds_newest_first(self, project=None):
    backend = self.codebuild_backend
    builds = [
        (build.get("startTime", ""), order, build["id"])
        for name, history in backend.build_metadata_history.items()
        if project is None or name == project
        for order, build in enumerate(history)
    ]
    builds.sort(key=lambda b: (_epoch(b[0]) if b[0] else 0, b[1]), reverse=True)
    ids = [b[2] for b in builds]
    return ids[::-1] if self._get_param("sortOrder") == "ASCENDING" else ids


def list_projects(self):
    return _page(self, self.codebuild_backend.list_projects(), "projects")


def list_builds(self):
    return _page(self, _builds_newest_first(self), "ids")


_original_list_builds_for_project = CodeBuildResponse.list_builds_for_project


def list_builds_for_project(self):
    _original_list_builds_for_project(self)  # moto's validation: name required, project exists
    ids = _builds_newest_first(self, self._get_param("projectName"))
    order = self._get_param("sortOrder")
    if order is not None and order not in ("ASCENDING", "DESCENDING"):
        raise InvalidInputException(f"Invalid sortOrder: {order!r}; valid values are ASCENDING, DESCENDING")
    # "If the project has more than 100 builds, setting the sort order will result in an error."
    if order is not None and len(ids) > PAGE_SIZE:
        raise InvalidInputException("sortOrder cannot be set for a project with more than 100 builds")
    return _page(self, ids, "ids")


_original_batch_get_builds = CodeBuildResponse.batch_get_builds


def batch_get_builds(self):
    ids = self._get_param("ids") or []
    if len(ids) > PAGE_SIZE:
        raise InvalidInputException(
            "1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length less than or equal to 100"
        )
    backend = self.codebuild_backend
    kept = {}
    for history in backend.build_metadata_history.values():
        for build in history:
            if build["id"] in ids and build["id"] in KEEP_RUNNING:
                kept[build["id"]] = json.loads(json.dumps(build))
    body = json.loads(_original_batch_get_builds(self))
    builds = [kept.get(b["id"], b) for b in body.get("builds", [])]
    for history in backend.build_metadata_history.values():
        for i, build in enumerate(history):
            if build["id"] in kept:
                history[i] = kept[build["id"]]
    body["builds"] = builds
    found = {b["id"] for b in builds}
    body["buildsNotFound"] = [i for i in ids if i not in found]
    return json.dumps(body)


_original_start_build = CodeBuildResponse.start_build


def _running_phases(start):
    from datetime import timedelta

    def phase(kind, offset, seconds):
        entry = {"phaseType": kind, "startTime": (start + timedelta(seconds=offset)).isoformat()}
        if seconds is not None:
            entry.update(phaseStatus="SUCCEEDED", durationInSeconds=seconds,
                         endTime=(start + timedelta(seconds=offset + seconds)).isoformat())
        return entry

    return [phase("SUBMITTED", 0, 0), phase("QUEUED", 0, 2), phase("PROVISIONING", 2, 30), phase("BUILD", 32, None)]


def start_build(self):
    overrides = {v.get("name"): v.get("value") for v in self._get_param("environmentVariablesOverride") or []}
    body = json.loads(_original_start_build(self))
    build_id = body["build"]["id"]
    ago = overrides.get("EMULATOR_STARTED_SECONDS_AGO")
    if ago or overrides.get("EMULATOR_KEEP_RUNNING") == "true":
        from datetime import datetime, timedelta, timezone

        start = datetime.now(timezone.utc) - timedelta(seconds=float(ago or 0))
        running = overrides.get("EMULATOR_KEEP_RUNNING") == "true"
        for history in self.codebuild_backend.build_metadata_history.values():
            for build in history:
                if build["id"] == build_id:
                    build["startTime"] = start.isoformat()
                    for phase in build.get("phases") or []:
                        phase["startTime"] = start.isoformat()
                    if running:  # queued 2 s, provisioned in 30 s, building since
                        build["phases"] = _running_phases(start)
                        build["currentPhase"] = "BUILD"
                    body["build"] = _fix_build(build)
        if overrides.get("EMULATOR_KEEP_RUNNING") == "true":
            KEEP_RUNNING.add(build_id)
    return json.dumps(body)


CodeBuildResponse.list_projects = list_projects
CodeBuildResponse.list_builds = list_builds
CodeBuildResponse.list_builds_for_project = list_builds_for_project
CodeBuildResponse.batch_get_builds = _with_epoch_times(batch_get_builds)
CodeBuildResponse.start_build = _with_epoch_times(start_build)


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


# --- S3's 301 for a bucket in another region ------------------------------------------------------
# S3 answers a request for a bucket sent to another region's endpoint with HTTP 301 Moved
# Permanently and the header x-amz-bucket-region naming the bucket's region: a HEAD (HeadBucket,
# HeadObject) with no body, any other request with the XML error body PermanentRedirect (Code,
# Message, Endpoint, Bucket, RequestId, HostId). moto serves every region from one store and answers
# 200. The region asked is the one the request is signed for (SigV4's credential scope: the
# endpoint here is a loopback address); the bucket's is the LocationConstraint it was created with.
# CreateBucket (a PUT of the bucket with no subresource) and unsigned requests are left to moto.
PERMANENT_REDIRECT_MESSAGE = (
    "The bucket you are attempting to access must be addressed using the specified endpoint. "
    "Please send all future requests to this endpoint."
)


def _bucket_elsewhere(self, request, full_url):
    """(bucket, its region) when the request is signed for another region than the bucket's."""
    asked = extract_region_from_aws_authorization(request.headers.get("Authorization", ""))
    if asked is None:
        return None
    if self.subdomain_based_buckets(request):
        bucket = bucket_name_from_url(full_url)
    else:
        bucket = bucketpath_bucket_name_from_url(full_url)
    if not bucket:
        return None
    path = urlparse(full_url).path.strip("/")
    creates_bucket = request.method == "PUT" and "/" not in path and not urlparse(full_url).query
    if creates_bucket:
        return None
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account = owner
    found = s3_backends[account][partition].buckets.get(bucket)
    if found is None or found.region_name == asked:
        return None
    return bucket, found.region_name


def _permanent_redirect(original):
    def answer(self, request, full_url, headers):
        elsewhere = _bucket_elsewhere(self, request, full_url)
        if elsewhere is None:
            return original(self, request, full_url, headers)
        bucket, region = elsewhere
        if request.method == "HEAD":
            return 301, {"x-amz-bucket-region": region}, b""
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>PermanentRedirect</Code><Message>{PERMANENT_REDIRECT_MESSAGE}</Message>"
            f"<Endpoint>{bucket}.s3.{region}.amazonaws.com</Endpoint><Bucket>{bucket}</Bucket>"
            "<RequestId>EMULATOR301</RequestId><HostId>emulator</HostId></Error>"
        )
        return 301, {"x-amz-bucket-region": region, "content-type": "application/xml"}, body.encode()

    return answer


for _operation in ("bucket_response", "key_response"):
    setattr(S3Response, _operation, _permanent_redirect(getattr(S3Response, _operation)))



# --- CodeBuild builds as AWS numbers and lists them ----------------------------------------------
# buildNumber: "For each project, the buildNumber of its first build is 1. The buildNumber of each
# subsequent build is incremented by 1" (moto draws a random number). ListBuildsForProject: "sorted
# by build number ... If this is not specified, the results are sorted in descending order", at
# most 100 ids a page with a nextToken, and "If the project has more than 100 builds, setting the
# sort order will result in an error" (moto returns every id, oldest first, whatever is asked).
#
# Emulator-only aid, for deterministic tests and demos of build-time reports: a build started with
# the environment variable override EMULATOR_BUILD (JSON) is reported exactly as described there:
#   {"start": "2026-11-20T09:00:00Z", "status": "SUCCEEDED", "phases": [["QUEUED", 30], ["BUILD", 600]],
#    "exported": {"CACHE_SENTINEL_SCENARIO": "app"}, "sourceVersion": "abc123",
#    "logs": ["/aws/codebuild/tts", "stream"],
#    "batch": {"arn": "arn:aws:codebuild:<region>:<account>:build-batch/tts:b1", "identifier": "linux_arm64"}}
# A build with "batch" is a job of that batch build (Build.buildBatchArn), and BatchGetBuildBatches
# answers for the batch as AWS documents it: its buildGroups, each job's identifier with its build
# (currentBuildSummary). moto has no batch builds at all.
# Phases run back to back from the start; a final status ends the build when its last phase ends;
# IN_PROGRESS leaves the build running in its last phase. Real CodeBuild has no such thing (it would
# only pass the variable to the build); cache-sentinel never sends it.
FIXED_BUILDS = {}


def _build_number_and_fixed(original):
    def wrapper(self):
        body = json.loads(original(self))
        build = body.get("build") or {}
        project = build.get("projectName")
        history = self.codebuild_backend.build_metadata_history.get(project) or []
        if history:
            history[-1]["buildNumber"] = len(history)
            build["buildNumber"] = len(history)
            # Build.cache is the cache the build used: StartBuild's cacheOverride, else the
            # project's (moto reports NO_CACHE for every build).
            known = self.codebuild_backend.codebuild_projects.get(project)
            cache = self._get_param("cacheOverride") or (
                known.project_metadata.get("cache") if known is not None else None) or {"type": "NO_CACHE"}
            history[-1]["cache"] = build["cache"] = dict(cache)
            # Build.environment is the project's, with StartBuild's overrides (moto reports a
            # BUILD_GENERAL1_SMALL Linux container for every build).
            environment = dict((known.project_metadata.get("environment") or {}) if known is not None else {})
            if environment:
                for param, field in (("computeTypeOverride", "computeType"), ("environmentTypeOverride", "type"),
                                     ("imageOverride", "image")):
                    if self._get_param(param):
                        environment[field] = self._get_param(param)
                history[-1]["environment"] = build["environment"] = environment
        for variable in self._get_param("environmentVariablesOverride") or []:
            if variable.get("name") == "EMULATOR_BUILD":
                try:
                    spec = json.loads(variable.get("value") or "")
                    if not isinstance(spec, dict):
                        raise ValueError("not an object")
                except ValueError as e:
                    raise InvalidInputException(f"EMULATOR_BUILD is not a JSON object: {e}")
                FIXED_BUILDS[build["id"]] = spec
                body["build"] = _fixed_build(build, spec)
        return json.dumps(body)

    return wrapper


def _fixed_build(build, spec):
    from datetime import datetime

    start = datetime.fromisoformat(str(spec.get("start", "2026-01-01T00:00:00Z")).replace("Z", "+00:00")).timestamp()
    status = spec.get("status", "SUCCEEDED")
    build = dict(build)
    build["startTime"] = start
    phases, at = [], start
    for name, seconds in spec.get("phases") or []:
        phases.append({"phaseType": name, "phaseStatus": "SUCCEEDED", "startTime": at, "endTime": at + seconds,
                       "durationInSeconds": seconds})
        at += seconds
    build["buildStatus"] = status
    if status == "IN_PROGRESS":
        build.pop("endTime", None)
        if phases:
            last = phases[-1]
            for key in ("phaseStatus", "endTime", "durationInSeconds"):
                last.pop(key, None)
            build["currentPhase"] = last["phaseType"]
    else:
        if phases:
            phases[-1]["phaseStatus"] = status
        phases.append({"phaseType": "COMPLETED", "startTime": at})
        build["endTime"] = at
        build["currentPhase"] = "COMPLETED"
    build["phases"] = phases
    if "sourceVersion" in spec:
        build["sourceVersion"] = build["resolvedSourceVersion"] = spec["sourceVersion"]
    if "batch" in spec:
        build["buildBatchArn"] = spec["batch"]["arn"]
    if "logs" in spec:
        # Build.logs as AWS documents it: the CloudWatch Logs group and stream of the build's log.
        group, stream = spec["logs"]
        build["logs"] = {"groupName": group, "streamName": stream,
                         "cloudWatchLogs": {"status": "ENABLED", "groupName": group, "streamName": stream}}
    build["exportedEnvironmentVariables"] = [{"name": k, "value": v} for k, v in (spec.get("exported") or {}).items()]
    return build


def _with_fixed_builds(original):
    def wrapper(self):
        body = json.loads(original(self))
        body["builds"] = [_fixed_build(b, FIXED_BUILDS[b["id"]]) if b.get("id") in FIXED_BUILDS else b
                          for b in body.get("builds") or []]
        return json.dumps(body)

    return wrapper


def batch_get_build_batches(self):
    ids = self._get_param("ids") or []
    if len(ids) > PAGE_SIZE:
        raise InvalidInputException(
            "1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length less than or equal to 100"
        )
    batches, not_found = [], []
    for wanted in ids:
        groups, arn, project = [], None, None
        for history in self.codebuild_backend.build_metadata_history.values():
            for build in history:
                spec = FIXED_BUILDS.get(build["id"]) or {}
                batch = spec.get("batch") or {}
                if batch.get("arn") in (wanted,) or str(batch.get("arn", "")).endswith("build-batch/" + wanted):
                    arn, project = batch["arn"], build.get("projectName")
                    groups.append({"identifier": batch.get("identifier"), "ignoreFailure": False,
                                   "currentBuildSummary": {"arn": build["arn"],
                                                           "buildStatus": spec.get("status", "SUCCEEDED")}})
        if arn is None:
            not_found.append(wanted)
        else:
            batches.append({"id": arn.split("build-batch/", 1)[-1], "arn": arn, "projectName": project,
                            "buildGroups": groups})
    return json.dumps({"buildBatches": batches, "buildBatchesNotFound": not_found})


CodeBuildResponse.batch_get_build_batches = batch_get_build_batches
CodeBuildResponse.start_build = _build_number_and_fixed(CodeBuildResponse.start_build)
CodeBuildResponse.batch_get_builds = _with_fixed_builds(CodeBuildResponse.batch_get_builds)


# --- IAM SimulatePrincipalPolicy -------------------------------------------------------------------
from moto.iam.exceptions import InvalidInput as IamInvalidInput  # noqa: E402
from moto.iam.exceptions import NoSuchEntity as IamNoSuchEntity  # noqa: E402
from moto.iam.exceptions import ValidationError as IamValidationError  # noqa: E402
from moto.iam.responses import IamResponse  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402

PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(user|group|role)(/.*)?/([\w+=,.@-]+)$")
ACTION_NAME = re.compile(r"^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$")


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern, value, ignore_case):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _compare(operator, expected, values):
    """Whether a condition operator holds for the context's values (None: not evaluated here)."""
    expected = [str(e) for e in expected]
    if operator == "StringEquals":
        return any(v == e for v in values for e in expected)
    if operator == "StringEqualsIgnoreCase":
        return any(v.lower() == e.lower() for v in values for e in expected)
    if operator in ("StringLike", "ArnLike", "ArnEquals"):
        return any(_wildcard(e, v, False) for v in values for e in expected)
    if operator == "StringNotEquals":
        return all(v != e for v in values for e in expected)
    if operator in ("StringNotLike", "ArnNotLike", "ArnNotEquals"):
        return not any(_wildcard(e, v, False) for v in values for e in expected)
    if operator == "Bool":
        return any(v.lower() == e.lower() for v in values for e in expected)
    return None


def _condition(condition, context):
    """(holds, missing keys): a key without a value in the context (ContextEntries) fails its test
    and is reported missing, unless the operator ends in IfExists; an operator not evaluated here
    fails too, its keys reported missing."""
    holds, missing = True, set()
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False, missing
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in tests.items():
            values = context.get(key.lower())
            if values is None:
                if not if_exists:
                    holds = False
                    missing.add(key)
                continue
            result = _compare(base, _as_list(expected), values)
            if result is None:
                missing.add(key)
            holds = holds and bool(result)
    return holds, sorted(missing)


def _statement_applies(statement, action, resource, context=None):
    """(applies, missing condition keys) for one statement and one action on one resource."""
    if "Action" in statement:
        action_ok = any(_wildcard(a, action, True) for a in _as_list(statement["Action"]))
    else:
        action_ok = not any(_wildcard(a, action, True) for a in _as_list(statement.get("NotAction")))
    if "Resource" in statement:
        resource_ok = any(_wildcard(r, resource, False) for r in _as_list(statement["Resource"]))
    elif "NotResource" in statement:
        resource_ok = not any(_wildcard(r, resource, False) for r in _as_list(statement["NotResource"]))
    else:
        resource_ok = False
    if not (action_ok and resource_ok):
        return False, []
    condition = statement.get("Condition") or {}
    if not condition:
        return True, []
    return _condition(condition, context or {})


def _evaluate(policies, action, resource, context=None):
    """Deny wins, then Allow, else implicit: (decision, matched statements, missing context keys)."""
    allows, denies, missing = [], [], set()
    for policy_id, policy_type, document in policies:
        for statement in _as_list(document.get("Statement")):
            applies, keys = _statement_applies(statement, action, resource, context)
            missing.update(keys)
            if applies:
                matched = {"SourcePolicyId": policy_id, "SourcePolicyType": policy_type}
                (denies if statement.get("Effect") == "Deny" else allows).append(matched)
    if denies:
        return "explicitDeny", denies, sorted(missing)
    if allows:
        return "allowed", allows, sorted(missing)
    return "implicitDeny", [], sorted(missing)


def _document(raw):
    from urllib.parse import unquote

    text = raw if raw.lstrip().startswith("{") else unquote(raw)
    return json.loads(text)


def _managed(policy, owner_type):
    version = next(v for v in policy.versions if v.is_default)
    kind = "aws-managed" if ":iam::aws:policy/" in policy.arn else "user-managed"
    return (policy.name, kind, _document(version.document))


def _principal_policies(backend, arn):
    """(identity policies, permissions boundary policies or None) of the entity named by arn."""
    match = PRINCIPAL_ARN.match(arn or "")
    if not match:
        raise IamInvalidInput(f"Invalid ARN: {arn!r} is not the ARN of an IAM user, group or role.")
    kind, name = match.group(2), match.group(4)
    finders = {"role": backend.get_role, "user": backend.get_user, "group": backend.get_group}
    try:
        entity = finders[kind](name)
    except Exception:
        raise IamNoSuchEntity(f"The {kind} with name {name} cannot be found.")
    if getattr(entity, "arn", arn) != arn:
        raise IamNoSuchEntity(f"The {kind} with name {name} cannot be found.")
    holders = [(kind, entity)]
    if kind == "user":
        holders += [("group", g) for g in backend.get_groups_for_user(name)]
    policies = []
    for holder_type, holder in holders:
        policies += [(n, holder_type, _document(d)) for n, d in holder.policies.items()]
        policies += [_managed(p, holder_type) for p in holder.managed_policies.values()]
    boundary = None
    boundary_arn = getattr(entity, "permissions_boundary_arn", None)
    if boundary_arn:
        boundary = [_managed(backend.get_policy(boundary_arn), kind)]
    return policies, boundary


def _decide(policies, boundary, action, resource, context=None):
    decision, matched, missing = _evaluate(policies, action, resource, context)
    detail = None
    if boundary is not None:
        bound_decision, _, bound_missing = _evaluate(boundary, action, resource, context)
        detail = {"AllowedByPermissionsBoundary": bound_decision == "allowed"}
        missing = sorted(set(missing) | set(bound_missing))
        if bound_decision == "explicitDeny":
            decision, matched = "explicitDeny", []
        elif bound_decision != "allowed" and decision == "allowed":
            decision, matched = "implicitDeny", []
    return decision, matched, missing, detail


def _resource_template(action, resources):
    if resources == ["*"]:
        return "*"
    if action.lower().startswith("s3:"):
        if all("/" in r.split(":::", 1)[-1] for r in resources):
            return "arn:${Partition}:s3:::${BucketName}/${KeyName}"
        return "arn:${Partition}:s3:::${BucketName}"
    return "*"


def _context_entries(entries):
    """ContextEntries as {lower-cased key: [values]} (condition keys match case-insensitively)."""
    context = {}
    for entry in _as_list(entries):
        if isinstance(entry, dict) and entry.get("ContextKeyName"):
            values = _as_list(entry.get("ContextKeyValues"))
            context[entry["ContextKeyName"].lower()] = [str(v) for v in values]
    return context


def simulate_principal_policy(self):
    source = self._get_param("PolicySourceArn")
    actions = _as_list(self._get_param("ActionNames"))
    if not source or not actions:
        missing = "policySourceArn" if not source else "actionNames"
        raise IamValidationError(
            f"1 validation error detected: Value null at '{missing}' failed to satisfy constraint: Member must not be null"
        )
    bad = [a for a in actions if not ACTION_NAME.match(a)]
    if bad:
        raise IamInvalidInput(f"Invalid action name: {bad[0]!r}; an action name is <service>:<Action>.")
    resources = _as_list(self._get_param("ResourceArns")) or ["*"]
    bad = [r for r in resources if r != "*" and not r.startswith("arn:")]
    if bad:
        raise IamInvalidInput(f"Invalid resource ARN: {bad[0]!r}; a resource is an ARN or \"*\".")
    policies, boundary = _principal_policies(self.backend, source)
    context = _context_entries(self._get_param("ContextEntries"))
    results = []
    for action in actions:
        per_resource = []
        for resource in resources:
            decision, matched, missing, detail = _decide(policies, boundary, action, resource, context)
            entry = {"EvalResourceName": resource, "EvalResourceDecision": decision, "MatchedStatements": matched,
                     "MissingContextValues": missing}
            if detail is not None:
                entry["PermissionsBoundaryDecisionDetail"] = detail
            per_resource.append(entry)
        decisions = [r["EvalResourceDecision"] for r in per_resource]
        top = next((d for d in ("explicitDeny", "implicitDeny") if d in decisions), "allowed")
        result = {
            "EvalActionName": action,
            "EvalResourceName": _resource_template(action, resources),
            "EvalDecision": top,
            "MatchedStatements": [m for r in per_resource if r["EvalResourceDecision"] == top for m in r["MatchedStatements"]],
            "MissingContextValues": sorted({k for r in per_resource for k in r["MissingContextValues"]}),
        }
        if any("PermissionsBoundaryDecisionDetail" in r for r in per_resource):
            result["PermissionsBoundaryDecisionDetail"] = {
                "AllowedByPermissionsBoundary": all(
                    r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in per_resource
                )
            }
        if resources != ["*"]:
            result["ResourceSpecificResults"] = per_resource
            result["EvalDecisionDetails"] = {}
        results.append(result)
    start = int(self._get_param("Marker") or 0)
    limit = int(self._get_param("MaxItems") or 100)
    page = results[start : start + limit]
    body = {"EvaluationResults": page, "IsTruncated": start + limit < len(results)}
    if body["IsTruncated"]:
        body["Marker"] = str(start + limit)
    return ActionResult(body)


IamResponse.simulate_principal_policy = simulate_principal_policy


# --- CodeBuild reserved-capacity fleets (CreateFleet, BatchGetFleets) ------------------------------
FLEETS = {}  # (account, region) -> {name: fleet}
OVERFLOW_BEHAVIORS = ("QUEUE", "ON_DEMAND")


def create_fleet(self):
    from moto.codebuild.exceptions import ResourceAlreadyExistsException

    name = self._get_param("name")
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-_]{1,127}", name):
        raise InvalidInputException(f"Invalid fleet name: {name!r}")
    for required in ("baseCapacity", "environmentType", "computeType"):
        if self._get_param(required) in (None, ""):
            raise InvalidInputException(f"Invalid fleet: {required} is required")
    if int(self._get_param("baseCapacity")) < 1:
        raise InvalidInputException("Invalid fleet: baseCapacity must be at least 1")
    overflow = self._get_param("overflowBehavior") or "QUEUE"
    if overflow not in OVERFLOW_BEHAVIORS:
        raise InvalidInputException(f"Invalid overflowBehavior: {overflow!r}; valid values are QUEUE, ON_DEMAND")
    fleets = FLEETS.setdefault((self.current_account, self.region), {})
    if name in fleets:
        raise ResourceAlreadyExistsException(f"Fleet already exists: {name}")
    now = unix_time()
    arn = f"arn:{get_partition(self.region)}:codebuild:{self.region}:{self.current_account}:fleet/{name}:{int(now * 1000)}"
    fleets[name] = {
        "arn": arn,
        "name": name,
        "id": arn.split("/", 1)[1],
        "created": now,
        "lastModified": now,
        "status": {"statusCode": "ACTIVE"},
        "baseCapacity": int(self._get_param("baseCapacity")),
        "environmentType": self._get_param("environmentType"),
        "computeType": self._get_param("computeType"),
        "overflowBehavior": overflow,
    }
    return json.dumps({"fleet": fleets[name]})


def batch_get_fleets(self):
    names = self._get_param("names") or []
    if not names or len(names) > 100:
        raise InvalidInputException("Invalid names: between 1 and 100 fleet names or ARNs")
    fleets = FLEETS.get((self.current_account, self.region), {})
    found, missing = [], []
    for requested in names:
        fleet = fleets.get(requested) or next((f for f in fleets.values() if f["arn"] == requested), None)
        (found if fleet else missing).append(fleet or requested)
    return json.dumps({"fleets": found, "fleetsNotFound": missing})


CodeBuildResponse.create_fleet = create_fleet
CodeBuildResponse.batch_get_fleets = batch_get_fleets


# --- Security Hub: ASFF's required fields, the batch limit, GetFindings' filters ---------------------
from moto.securityhub.exceptions import InvalidInputException as HubInvalidInput  # noqa: E402
from moto.securityhub.models import Finding as HubFinding  # noqa: E402
from moto.securityhub.responses import SecurityHubResponse  # noqa: E402

ASFF_REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
                 "UpdatedAt", "Severity", "Title", "Description", "Resources")
PRODUCT_ARN = re.compile(r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:(\d{12})?:product/[^/]+/[^/]+$")


def _asff_problem(finding):
    if not isinstance(finding, dict):
        return "a finding must be an object"
    for field in ASFF_REQUIRED:
        if finding.get(field) in (None, "", [], {}):
            return f"Finding is missing the required field {field}"
    if not PRODUCT_ARN.match(str(finding["ProductArn"])):
        return f"ProductArn {finding['ProductArn']!r} is not a Security Hub product ARN"
    if not isinstance(finding["Resources"], list):
        return "Resources must be a list"
    return None


def batch_import_findings(self):
    body = json.loads(self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body)
    findings = body.get("Findings")
    if not isinstance(findings, list) or not 1 <= len(findings) <= 100:
        raise HubInvalidInput(op="BatchImportFindings", msg="Findings must hold between 1 and 100 findings")
    backend = self.securityhub_backend
    failed, success = [], 0
    for finding in findings:
        problem = _asff_problem(finding)
        if problem:
            failed.append({"Id": (finding or {}).get("Id", ""), "ErrorCode": "InvalidInput", "ErrorMessage": problem})
            continue
        same = next((f for f in backend.findings
                     if f.id == finding["Id"] and f.data.get("ProductArn") == finding["ProductArn"]), None)
        data = dict(finding)
        if same:
            workflow = dict(same.data.get("Workflow") or {"Status": "NEW"})
            reopened = same.data.get("RecordState") == "ARCHIVED" and data.get("RecordState", "ACTIVE") == "ACTIVE"
            if reopened and workflow.get("Status") in ("RESOLVED", "NOTIFIED"):
                workflow["Status"] = "NEW"
            data["Workflow"] = workflow
            same.data = data
        else:
            data["Workflow"] = {"Status": "NEW"}
            backend.findings.append(HubFinding(finding["Id"], data))
        success += 1
    return json.dumps({"FailedCount": len(failed), "FailedFindings": failed, "SuccessCount": success})


def _string_filter_matches(value, filters):
    value = "" if value is None else str(value)
    positive = [f for f in filters if f.get("Comparison") in ("EQUALS", "PREFIX")]
    negative = [f for f in filters if f.get("Comparison") in ("NOT_EQUALS", "PREFIX_NOT_EQUALS")]

    def hit(f):
        expected = f.get("Value", "")
        return value.startswith(expected) if "PREFIX" in f["Comparison"] else value == expected

    return (not positive or any(hit(f) for f in positive)) and all(not hit(f) for f in negative)


def get_findings(self):
    params = json.loads(self.body.decode("utf-8") if isinstance(self.body, bytes) else (self.body or "{}")) or {}
    filters = params.get("Filters") or {}
    max_results = int(params.get("MaxResults") or 100)
    if not 1 <= max_results <= 100:
        raise HubInvalidInput(op="GetFindings", msg="MaxResults must be a number between 1 and 100")
    matched = []
    for finding in self.securityhub_backend.findings:
        data = finding.data
        if all(_string_filter_matches(data.get(field), values) for field, values in filters.items()
               if isinstance(values, list) and isinstance(data.get(field, ""), (str, type(None)))):
            matched.append(data)
    start = int(params.get("NextToken") or 0)
    page = matched[start:start + max_results]
    token = str(start + max_results) if start + max_results < len(matched) else None
    return json.dumps({"Findings": page, "NextToken": token})


def batch_update_findings(self):
    params = json.loads(self.body.decode("utf-8") if isinstance(self.body, bytes) else (self.body or "{}")) or {}
    identifiers = params.get("FindingIdentifiers")
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= 100:
        raise HubInvalidInput(op="BatchUpdateFindings", msg="FindingIdentifiers must hold between 1 and 100 findings")
    processed, unprocessed = [], []
    for identifier in identifiers:
        same = next((f for f in self.securityhub_backend.findings if f.id == identifier.get("Id")
                     and f.data.get("ProductArn") == identifier.get("ProductArn")), None)
        if same is None:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound",
                                "ErrorMessage": "Finding Not Found"})
            continue
        if params.get("Workflow"):
            same.data["Workflow"] = dict(params["Workflow"])
        processed.append(identifier)
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


SecurityHubResponse.batch_import_findings = batch_import_findings
SecurityHubResponse.get_findings = get_findings
SecurityHubResponse.batch_update_findings = batch_update_findings
# The route moto lacks: PATCH /findings/batchupdate.
import moto.securityhub.urls as hub_urls  # noqa: E402

hub_urls.url_paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch


# --- STS AssumeRole: the role exists and trusts the caller -----------------------------------------
from moto.iam.models import iam_backends  # noqa: E402
from moto.sts.exceptions import STSClientError  # noqa: E402
from moto.sts.responses import TokenResponse  # noqa: E402

MANAGEMENT_ACCOUNT = "123456789012"
ORGANIZATION_ROLE = "OrganizationAccountAccessRole"
ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")


class StsAccessDenied(STSClientError):
    code = "AccessDenied"


def _trust_allows(document, caller_account, caller_arn):
    """Does a trust policy let the caller's account (or the caller) assume the role?"""
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    allowed = False
    for statement in _as_list((policy or {}).get("Statement")):
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal")
        names = ["*"] if principal == "*" else _as_list((principal or {}).get("AWS"))
        hit = any(n in ("*", caller_account, f"arn:aws:iam::{caller_account}:root", caller_arn) for n in names)
        if hit and statement.get("Effect") == "Deny":
            return False
        allowed = allowed or (hit and statement.get("Effect") == "Allow")
    return allowed


def _caller_arn(response):
    from moto.sts.models import sts_backends

    account = response.current_account
    key = response.get_access_key() if hasattr(response, "get_access_key") else None
    for backend in sts_backends[account].values():
        role = backend.get_assumed_role_from_access_key(key) if key else None
        if role is not None:
            return role.arn
    return f"arn:aws:iam::{account}:user/moto"


def _role_exists(account, partition, name, arn):
    if name == ORGANIZATION_ROLE and account != MANAGEMENT_ACCOUNT:
        return True, json.dumps({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"}}]})
    iam = iam_backends[account][partition]
    for role in iam.roles.values():
        if role.name == name and role.arn == arn:
            return True, role.assume_role_policy_document
    return False, None


def _checked_assume_role(original):
    def assume_role(self):
        arn = self._get_param("RoleArn") or ""
        caller = _caller_arn(self)
        denied = StsAccessDenied(f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {arn}")
        match = ROLE_ARN.match(arn)
        if not match:
            raise denied
        partition, account, name = match.groups()
        exists, trust = _role_exists(account, partition, name, arn)
        if not exists or not _trust_allows(trust, self.current_account, caller):
            raise denied
        return original(self)

    return assume_role


TokenResponse.assume_role = _checked_assume_role(TokenResponse.assume_role)


# --- Policy statements with a Condition that does not hold do not apply ----------------------------
from moto.iam.access_control import IAMPolicyStatement, PermissionResult  # noqa: E402


def _request_condition_holds(condition, context):
    """IAM's rule for a key the request does not carry: the test is false, but for a negated
    operator (StringNotEquals, ArnNotLike...), which is true, `...IfExists`, which is true, and
    `Null`, which tests exactly that (the IAM User Guide, "Condition operators")."""
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in tests.items():
            values = context.get(key.lower())
            if base == "Null":
                if (values is None) != (str(expected).lower() == "true"):
                    return False
                continue
            if values is None:
                if not (if_exists or "Not" in base):
                    return False
                continue
            if not _compare(base, _as_list(expected), values):
                return False
    return True


def _conditions_limit(original):
    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        condition = self._statement.get("Condition")
        if condition:
            context = {k.lower(): [str(v)] for k, v in (incoming_condition_values or {}).items()}
            if not _request_condition_holds(condition, context):
                return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    return is_action_permitted


IAMPolicyStatement.is_action_permitted = _conditions_limit(IAMPolicyStatement.is_action_permitted)


# --- Organizations ListAccounts: the management account and delegated administrators only --------
from moto.organizations.exceptions import AWSOrganizationsNotInUseException, OrganizationsClientError  # noqa: E402
from moto.organizations.models import organizations_backends  # noqa: E402
from moto.organizations.responses import OrganizationsResponse  # noqa: E402


class OrgAccessDenied(OrganizationsClientError):
    code = "AccessDeniedException"


def _listing_for_administrators(original):
    def list_accounts(self):
        account = self.current_account
        if organizations_backends[account][self.partition].org is not None:
            return original(self)  # the management account
        management = organizations_backends.master_accounts.get(account)
        if management is None:
            raise AWSOrganizationsNotInUseException
        backend = organizations_backends[management[0]][management[1]]
        if not any(admin.account.id == account for admin in backend.admins):
            raise OrgAccessDenied("You don't have permissions to access this resource.")
        accounts, token = backend.list_accounts(
            max_results=self._get_int_param("MaxResults"), next_token=self._get_param("NextToken"))
        return json.dumps({"Accounts": accounts, "NextToken": token})

    return list_accounts


OrganizationsResponse.list_accounts = _listing_for_administrators(OrganizationsResponse.list_accounts)


if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
