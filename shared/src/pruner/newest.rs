//! The N newest objects of a location in progress: a min-heap whose entries are also what a stopped
//! run carries over to the next, so keep-newest-N stays exact across runs.

use super::writers::Writers;
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// An entry of a location's N-newest heap (also carried across runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub key: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.last_modified_ms, &self.key).cmp(&(other.last_modified_ms, &other.key))
    }
}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The N newest seen so far (newest = latest LastModified, ties by key). It grows as objects come
/// (never pre-allocated from N, which is configuration).
#[derive(Debug, Default)]
pub struct Newest {
    keep: usize,
    heap: BinaryHeap<Reverse<Kept>>,
}

impl Newest {
    pub fn new(keep: usize, carried: Vec<Kept>) -> Self {
        let mut newest = Newest { keep, heap: BinaryHeap::new() };
        for kept in carried {
            // A carried heap is at most N long; should it be longer (N was lowered), the surplus
            // is simply not kept as a witness: never deleted by this run.
            if newest.heap.len() < keep {
                newest.heap.push(Reverse(kept));
            }
        }
        newest
    }

    /// Adds an object; returns the one that is no longer among the N newest, if any.
    pub fn push(&mut self, object: Kept) -> Option<Kept> {
        self.heap.push(Reverse(object));
        if self.heap.len() > self.keep { self.heap.pop().map(|Reverse(k)| k) } else { None }
    }

    /// The N newest, oldest first.
    pub fn into_sorted(self) -> Vec<Kept> {
        self.heap.into_sorted_vec().into_iter().map(|Reverse(k)| k).rev().collect()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// The N newest of a location, or of each of its writers when it is shared ([`Writers`]): each live
/// project keeps its N newest, and the objects no one project wrote keep N per live project.
#[derive(Debug)]
pub struct Keepers<'w> {
    writers: Option<&'w Writers>,
    per_project: Vec<Newest>,
    group: Newest,
}

impl<'w> Keepers<'w> {
    /// Keeps `keep` of the location (no writers) or of each writer; a carried heap goes back to the
    /// heaps it belongs to.
    pub fn new(keep: usize, writers: Option<&'w Writers>, carried: Vec<Kept>) -> Self {
        let Some(w) = writers else {
            return Keepers { writers, per_project: vec![], group: Newest::new(keep, carried) };
        };
        let mut keepers = Keepers {
            writers,
            per_project: w.projects().iter().map(|_| Newest::new(keep, vec![])).collect(),
            group: Newest::new(keep.saturating_mul(w.projects().len().max(1)), vec![]),
        };
        for kept in carried {
            // As in `Newest::new`: one a heap has no room for is not a witness, and the listing is
            // past it, so this run never deletes it.
            let _ = keepers.push(kept);
        }
        keepers
    }

    fn heap(&mut self, object: &Kept) -> &mut Newest {
        match self.writers.and_then(|w| w.writer(object.last_modified_ms)) {
            Some(i) if i < self.per_project.len() => &mut self.per_project[i],
            _ => &mut self.group,
        }
    }

    /// Adds an object to its writer's heap; returns the one no longer among that heap's newest.
    pub fn push(&mut self, object: Kept) -> Option<Kept> {
        self.heap(&object).push(object)
    }

    /// Every heap's entries, oldest first (what a stopped run carries).
    pub fn into_sorted(self) -> Vec<Kept> {
        let mut all: Vec<Kept> =
            self.per_project.into_iter().chain([self.group]).flat_map(Newest::into_sorted).collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(key: &str, t: i64) -> Kept {
        Kept { key: key.into(), size: 1, last_modified_ms: t }
    }

    #[test]
    fn keeps_the_n_newest_and_evicts_the_oldest() {
        let mut n = Newest::new(2, vec![]);
        assert_eq!(n.push(kept("a", 5)), None);
        assert_eq!(n.push(kept("b", 9)), None);
        assert_eq!(n.push(kept("c", 1)), Some(kept("c", 1)));
        assert_eq!(n.push(kept("d", 7)), Some(kept("a", 5)));
        assert_eq!(n.into_sorted(), vec![kept("d", 7), kept("b", 9)]);
        // Ties by key: the larger key is the newer.
        let mut n = Newest::new(1, vec![kept("x", 3)]);
        assert_eq!(n.push(kept("y", 3)), Some(kept("x", 3)));
    }
}
