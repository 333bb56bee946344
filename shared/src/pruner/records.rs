//! Budget candidates, kept compactly: a 32-byte record per object plus the key's tail (after the
//! location's `<prefix>/`) in one shared text arena, under a byte cap shared by the whole run so
//! that memory stays bounded at any bucket size.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of budget records a run may hold in total (records plus key tails). Past it, the budget
/// that needed them is reported as not applied: memory stays bounded, nothing unsafe is deleted.
/// 40 MiB holds about 600,000 candidates with CodeBuild's 36-character keys; with the process's
/// own ~15 MiB, peak RSS stays under 64 MB.
pub const RECORD_BYTES_CAP: usize = 40 * 1024 * 1024;
/// Records and key text grow by these steps (not by doubling), so what is allocated stays within
/// one step of what the allowance counts.
const REC_STEP: usize = 16 * 1024;
const TEXT_STEP: usize = 512 * 1024;

/// The run-wide allowance of record bytes, shared by the locations planned at once.
#[derive(Debug)]
pub struct RecordAllowance {
    left: AtomicUsize,
}

impl RecordAllowance {
    pub fn new(bytes: usize) -> Self {
        RecordAllowance { left: AtomicUsize::new(bytes) }
    }

    /// Takes `bytes`; false when the allowance cannot cover them.
    pub fn take(&self, bytes: usize) -> bool {
        self.left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(bytes)).is_ok()
    }

    pub fn give_back(&self, bytes: usize) {
        self.left.fetch_add(bytes, Ordering::Relaxed);
    }
}

impl Default for RecordAllowance {
    fn default() -> Self {
        RecordAllowance::new(RECORD_BYTES_CAP)
    }
}

/// One candidate: where its key tail is in the arena, which location, size and LastModified.
#[derive(Debug, Clone, Copy)]
pub struct Rec {
    offset: usize,
    len: u32,
    pub location: u32,
    pub size: u64,
    pub mtime: i64,
}

/// The candidates of one location (or, for the total budget, of all of them).
#[derive(Debug, Default)]
pub struct Records {
    text: String,
    recs: Vec<Rec>,
    /// Bytes taken from the allowance (given back when the records are dropped or cleared).
    taken: usize,
}

impl Records {
    /// The bytes one record of this key tail costs.
    pub fn cost(tail: &str) -> usize {
        std::mem::size_of::<Rec>() + tail.len()
    }

    /// Adds a candidate if the allowance covers it; false when it does not (nothing is added).
    pub fn push(&mut self, allowance: &RecordAllowance, tail: &str, size: u64, mtime: i64, location: u32) -> bool {
        let cost = Self::cost(tail);
        if !allowance.take(cost) {
            return false;
        }
        self.taken += cost;
        if self.recs.len() == self.recs.capacity() {
            self.recs.reserve_exact(REC_STEP);
        }
        if self.text.capacity() - self.text.len() < tail.len() {
            self.text.reserve_exact(TEXT_STEP.max(tail.len()));
        }
        // Keys are at most 1,024 bytes; the cast cannot truncate.
        self.recs.push(Rec { offset: self.text.len(), len: tail.len() as u32, location, size, mtime });
        self.text.push_str(tail);
        true
    }

    pub fn tail(&self, rec: &Rec) -> &str {
        self.text.get(rec.offset..rec.offset + rec.len as usize).unwrap_or_default()
    }

    pub fn get(&self, i: usize) -> Option<Rec> {
        self.recs.get(i).copied()
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Rec)> {
        self.recs.iter().map(|r| (self.tail(r), r))
    }

    /// Oldest first (ties by location, then key), as budgets delete.
    pub fn sort_oldest_first(&mut self) {
        let text = std::mem::take(&mut self.text);
        let tail = |r: &Rec| &text[r.offset..r.offset + r.len as usize];
        self.recs.sort_unstable_by(|a, b| (a.mtime, a.location, tail(a)).cmp(&(b.mtime, b.location, tail(b))));
        self.text = text;
    }

    /// Takes over another set of records (their allowance comes along), all marked as `location`'s.
    pub fn append(&mut self, mut other: Records, location: u32) {
        for rec in &mut other.recs {
            rec.location = location;
        }
        if self.recs.is_empty() {
            let taken = self.taken + other.taken;
            *self = other;
            self.taken = taken;
            return;
        }
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.recs.extend(other.recs.iter().map(|r| Rec { offset: r.offset + base, ..*r }));
        self.taken += std::mem::take(&mut other.taken);
    }

    /// Drops the first `n` records (their arena bytes stay until [`Records::clear`]).
    pub fn drop_first(&mut self, n: usize) {
        self.recs.drain(..n.min(self.recs.len()));
    }

    /// Drops every record and gives its bytes back.
    pub fn clear(&mut self, allowance: &RecordAllowance) {
        allowance.give_back(std::mem::take(&mut self.taken));
        self.text = String::new();
        self.recs = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stay_within_the_allowance_and_give_it_back() {
        let allowance = RecordAllowance::new(Records::cost("abc") * 2);
        let mut r = Records::default();
        assert!(r.push(&allowance, "abc", 1, 30, 0));
        assert!(r.push(&allowance, "xyz", 2, 10, 1));
        assert!(!r.push(&allowance, "def", 3, 20, 0), "the allowance is spent");
        assert_eq!(r.len(), 2);
        r.sort_oldest_first();
        assert_eq!(r.iter().map(|(t, rec)| (t, rec.size)).collect::<Vec<_>>(), vec![("xyz", 2), ("abc", 1)]);
        r.clear(&allowance);
        assert!(r.is_empty());
        assert!(allowance.take(Records::cost("abc") * 2));
    }

    #[test]
    fn records_move_with_their_allowance() {
        let allowance = RecordAllowance::new(1000);
        let (mut a, mut b, mut c) = (Records::default(), Records::default(), Records::default());
        assert!(
            a.push(&allowance, "x", 1, 1, 0) && b.push(&allowance, "yy", 2, 2, 0) && c.push(&allowance, "zzz", 3, 3, 0)
        );
        let mut all = Records::default();
        all.append(a, 4);
        all.append(b, 5);
        all.append(c, 6);
        let got: Vec<_> = all.iter().map(|(t, r)| (t.to_owned(), r.location)).collect();
        assert_eq!(got, vec![("x".to_owned(), 4), ("yy".to_owned(), 5), ("zzz".to_owned(), 6)]);
        all.clear(&allowance);
        assert!(allowance.take(1000), "every byte given back");
    }
}
