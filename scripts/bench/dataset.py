"""The pruner benchmark's data: cache locations of skewed sizes, as real accounts have (a few large
projects, many small ones), and their objects. Deterministic for a given (objects, locations, seed),
so the fake S3 can generate it in-process and the CodeBuild side can be set up to match.

Locations: project `svc-NNNN-build` caches at `<bucket>/svc-NNNN-build` (the managed layout, where
the location's prefix is the project name). Sizes follow Zipf's law (the k-th largest location holds
about 1/k of the largest one), the ranks shuffled so large locations are spread over the key space.
Every location holds at least one object.

Objects: `<location>/<uuid>` (a 36-character UUID, as CodeBuild's S3 cache keys), sizes 1 KiB to
512 MiB, ages a whole number of days (uniform over 0-89) plus 6 to 18 hours. No age lies within 6
hours of a whole day, so the policy's day-based limits (min age 24 h, max age 30 d) decide every
object the same way for any run that starts within 6 hours of seeding: two pruners run one after
the other must agree exactly.
"""

import random

AGE_DAYS = 90
HOUR = 3600


def location_names(locations):
    return [f"svc-{i:04d}-build" for i in range(locations)]


def location_sizes(objects, locations, seed=42):
    """[(name, object count)] in name order; counts add up to `objects`."""
    names = location_names(locations)
    weights = [1.0 / (rank + 1) for rank in range(locations)]
    total = sum(weights)
    counts = [max(1, int(objects * w / total)) for w in weights]
    counts[0] += objects - sum(counts)  # the largest absorbs the rounding
    if counts[0] < 1:
        raise ValueError(f"{objects} objects cannot fill {locations} locations")
    ranks = list(range(locations))
    random.Random(seed).shuffle(ranks)
    return [(names[i], counts[ranks[i]]) for i in range(locations)]


def objects(objects, locations, seed=42, now_ms=0):
    """Yields (key, size, last_modified_ms) for every object, location by location."""
    rng = random.Random(seed * 1_000_003 + objects)
    bits = rng.getrandbits
    now_s = now_ms // 1000
    for name, count in location_sizes(objects, locations, seed):
        for _ in range(count):
            u = "%032x" % bits(128)
            key = f"{name}/{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
            age = rng.randrange(AGE_DAYS) * 24 * HOUR + 6 * HOUR + rng.randrange(12 * HOUR)
            yield key, rng.randrange(1024, 512 << 20), (now_s - age) * 1000
