//! An append-only list that grows by whole chunks and never moves what it holds: the
//! embedded log's index of frames.
//!
//! Why not a `Vec`: the index holds every record's frame, millions of them, and grows
//! by one append at a time. A `Vec` doubles by copying everything into fresh memory,
//! and the kernel zeroes each fresh page as it is first touched: in a profile of the
//! decision log alone (a thousand decisions an append), that copy and those page
//! faults were a third of its cost per decision. Here a full chunk is never touched
//! again, and each new one is allocated once at its full size.

/// Items a chunk holds (only the first chunk grows to this; later ones start at it).
const CHUNK_ITEMS: usize = 1 << 16;

#[derive(Debug)]
pub(super) struct Chunked<T> {
    /// Every chunk but the last holds exactly [`CHUNK_ITEMS`]; the last is not empty
    /// (or there are none).
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T: Copy> Chunked<T> {
    pub(super) fn new() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get(&self, i: usize) -> Option<T> {
        self.chunks.get(i / CHUNK_ITEMS).and_then(|chunk| chunk.get(i % CHUNK_ITEMS)).copied()
    }

    pub(super) fn last(&self) -> Option<T> {
        self.chunks.last().and_then(|chunk| chunk.last()).copied()
    }

    pub(super) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK_ITEMS => chunk.push(item),
            _ => {
                // The first chunk starts small (most logs are small); a later one is
                // needed only by a log that has filled a whole chunk already.
                let mut chunk = if self.chunks.is_empty() { Vec::new() } else { Vec::with_capacity(CHUNK_ITEMS) };
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
        debug_assert_eq!(self.len, self.chunks.iter().map(Vec::len).sum::<usize>());
    }

    pub(super) fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.push(item);
        }
    }

    /// The items from `from` to the end, in order.
    pub(super) fn iter_from(&self, from: usize) -> impl Iterator<Item = T> + '_ {
        (from..self.len).map(|i| self.get(i).expect("below len"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_a_vec_holds_across_chunk_boundaries() {
        let mut chunked = Chunked::new();
        let mut vec = Vec::new();
        assert_eq!((chunked.len(), chunked.last(), chunked.get(0)), (0, None, None));
        // Given appends of uneven sizes that cross two chunk boundaries,
        for (round, size) in [1, 999, CHUNK_ITEMS - 1000, 1, 1, 2 * CHUNK_ITEMS + 7].into_iter().enumerate() {
            let items: Vec<u64> = (0..size as u64).map(|i| (round as u64) << 40 | i).collect();
            vec.extend(&items);
            chunked.extend(items);
            // then every item is where a Vec has it, and nothing is past the end.
            assert_eq!(chunked.len(), vec.len());
            assert_eq!(chunked.last(), vec.last().copied());
            assert_eq!(chunked.get(vec.len()), None);
        }
        assert!(chunked.chunks.len() == 4 && chunked.chunks[..3].iter().all(|c| c.len() == CHUNK_ITEMS));
        assert!((0..vec.len()).all(|i| chunked.get(i) == Some(vec[i])));
        let from = CHUNK_ITEMS - 3;
        assert!(chunked.iter_from(from).eq(vec[from..].iter().copied()));
        assert_eq!(chunked.iter_from(vec.len()).count(), 0);
    }
}
