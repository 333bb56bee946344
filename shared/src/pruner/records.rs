//! Budget candidates, kept compactly: a fixed-size record per object plus the key's tail in one
//! shared text arena.

/// Budget candidates: 32 bytes per record plus the key bytes after `<root><project>/` in one shared
/// arena (the project index restores the rest).
#[derive(Debug, Default)]
pub(super) struct Records {
    pub(super) text: String,
    pub(super) recs: Vec<Rec>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Rec {
    pub(super) offset: u32,
    pub(super) len: u32,
    pub(super) project: u32,
    pub(super) size: u64,
    pub(super) mtime: i64,
}

impl Records {
    pub(super) fn push(&mut self, key: &str, size: u64, mtime: i64, project: u32) {
        // Keys are at most 1,024 bytes; the arena of a run stays far below 4 GiB before memory runs out.
        let offset = self.text.len() as u32;
        self.text.push_str(key);
        self.recs.push(Rec { offset, len: key.len() as u32, project, size, mtime });
    }

    pub(super) fn key(&self, rec: &Rec) -> &str {
        &self.text[rec.offset as usize..(rec.offset + rec.len) as usize]
    }

    pub(super) fn sort_oldest_first(&mut self) {
        let text = std::mem::take(&mut self.text);
        self.recs.sort_unstable_by(|a, b| {
            (a.mtime, a.project, &text[a.offset as usize..(a.offset + a.len) as usize]).cmp(&(
                b.mtime,
                b.project,
                &text[b.offset as usize..(b.offset + b.len) as usize],
            ))
        });
        self.text = text;
    }

    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.recs.clear();
        if self.text.capacity() > 1 << 20 {
            self.text.shrink_to(1 << 16);
            self.recs.shrink_to(1 << 12);
        }
    }
}
