//! cache-pruner: prunes stale cache objects from the cache bucket (see issue 4).
