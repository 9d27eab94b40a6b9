//! Columns on demand (ABI 1.8). For a mod that imports `query_fetch`, a
//! query's columns are laid out in the frame but not written before the
//! call. The mod asks for all of them (`query_fetch`, which the SDK does
//! before it iterates), or gets one row at a time: `query_locate` writes
//! the row it finds. A system that only looks entities up then costs what
//! it looks up, not a copy of every row the query matched
//! (`lookup_1k_of_100k` in `benches/ecs_bridge.rs`).
//!
//! Rows the host never wrote hold whatever the buffer held before: they are
//! never checked or written back (ABI.md, "Write-back").

use super::copy_in::{BatchLayout, gather, write_columns};
use super::plan::QueryPlan;
use bevy::prelude::*;

/// A query of the current call whose columns were left out.
pub(super) struct DeferredQuery {
    /// The query's parameter slot.
    pub(super) slot: u32,
    /// Where the frame starts in the mod's memory.
    base: usize,
    plan: *const QueryPlan,
    batches: (*const BatchLayout, usize),
    /// Every column was written (`query_fetch`).
    pub(super) fetched: bool,
    /// The rows written one at a time before that (`query_locate`).
    pub(super) written: RowSet,
}

// SAFETY: `plan` and `batches` point into the `ModInstance` whose call set
// them up; they are read during that call and after it, before the next
// run lays out a frame (see `ModInstance::run_system`), on the thread that
// holds the instance.
unsafe impl Send for DeferredQuery {}
// SAFETY: as above; nothing reads it from two threads.
unsafe impl Sync for DeferredQuery {}

impl DeferredQuery {
    /// Query `plan` in slot `slot`, laid out as `batches` in the frame at
    /// `base`, none of its columns written yet.
    pub(super) fn new(slot: usize, base: usize, plan: &QueryPlan, batches: &[BatchLayout]) -> DeferredQuery {
        DeferredQuery {
            slot: slot as u32,
            base,
            plan,
            batches: (batches.as_ptr(), batches.len()),
            fetched: false,
            written: RowSet::default(),
        }
    }

    /// The query's plan and its batches, borrowed apart from `self`.
    ///
    /// # Safety
    /// Only while the frame `self` was set up for is current (see the
    /// `Send` impl): nothing changes or drops them meanwhile.
    unsafe fn parts<'a>(&self) -> (&'a QueryPlan, &'a [BatchLayout]) {
        // SAFETY: the caller's promise.
        unsafe { (&*self.plan, std::slice::from_raw_parts(self.batches.0, self.batches.1)) }
    }

    /// `query_locate` found row `row` of batch `batch`: writes its columns
    /// into the frame in `mem`, unless they are written already (the mod
    /// may have changed them since).
    pub(super) fn locate(&mut self, mem: &mut [u8], world: &World, batch: u32, row: u32) {
        if self.fetched {
            return;
        }
        // SAFETY: called during the call this frame was written for.
        let (q, batches) = unsafe { self.parts() };
        if !self.written.insert(batches, batch, row) {
            return;
        }
        let b = &batches[batch as usize];
        let table = &world.storages().tables[b.table];
        let table_row = b.rows.as_ref().map_or(row, |rows| rows[row as usize]);
        let frame = &mut mem[self.base..];
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            if at != 0 {
                let size = t.component.size as usize;
                gather(frame, at + row as usize * size, table, t.component, &[table_row], world);
            }
        }
    }

    /// `query_fetch`: writes every column of the query into the frame in
    /// `mem`, but keeps the rows written before (the mod may have changed
    /// them).
    pub(super) fn fetch(&mut self, mem: &mut [u8], world: &World) {
        if self.fetched {
            return;
        }
        self.fetched = true;
        // SAFETY: called during the call this frame was written for.
        let (q, batches) = unsafe { self.parts() };
        let frame = &mut mem[self.base..];
        let rows_of = |batch: u32, row: u32| {
            let b = &batches[batch as usize];
            q.terms.iter().zip(&b.columns_at).filter(|&(_, &at)| at != 0).map(move |(t, &at)| {
                let size = t.component.size as usize;
                at + row as usize * size..at + (row as usize + 1) * size
            })
        };
        let mut kept = Vec::new();
        for (batch, row) in self.written.iter() {
            for range in rows_of(batch, row) {
                kept.extend_from_slice(&frame[range]);
            }
        }
        for b in batches {
            write_columns(frame, q, b, world);
        }
        let mut from = 0;
        for (batch, row) in self.written.iter() {
            for range in rows_of(batch, row) {
                let len = range.len();
                frame[range].copy_from_slice(&kept[from..from + len]);
                from += len;
            }
        }
    }

    /// The rows the host wrote, `(batch, row)`, if it did not write them
    /// all: only these can be checked and written back.
    pub(super) fn unfetched_rows(&self) -> Option<impl Iterator<Item = (u32, u32)> + '_> {
        (!self.fetched).then(|| self.written.iter())
    }
}

/// A set of rows of a query's batches: one bit per row, in batch order.
#[derive(Default)]
pub(super) struct RowSet {
    /// The first bit of each batch; empty until the first insert.
    starts: Vec<usize>,
    bits: Vec<u64>,
}

impl RowSet {
    /// Adds row `row` of batch `batch`; false if it was there.
    fn insert(&mut self, batches: &[BatchLayout], batch: u32, row: u32) -> bool {
        if self.starts.is_empty() {
            let mut total = 0;
            self.starts = batches
                .iter()
                .map(|b| {
                    let start = total;
                    total += b.len;
                    start
                })
                .collect();
            self.bits = vec![0; total.div_ceil(64)];
        }
        let i = self.starts[batch as usize] + row as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        new
    }

    /// Every row in the set, `(batch, row)`, in batch and row order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.bits.iter().enumerate().flat_map(move |(w, &word)| {
            std::iter::successors(Some(word).filter(|&x| x != 0), |&x| Some(x & (x - 1)).filter(|&x| x != 0)).map(
                move |x| {
                    let i = w * 64 + x.trailing_zeros() as usize;
                    let batch = self.starts.partition_point(|&s| s <= i) - 1;
                    (batch as u32, (i - self.starts[batch]) as u32)
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{BatchLayout, RowSet};
    use bevy::ecs::storage::TableId;

    fn batch(len: usize) -> BatchLayout {
        BatchLayout { table: TableId::empty(), len, header_at: 0, entities_at: 0, columns_at: Vec::new(), rows: None }
    }

    /// Rows across batches (one of them empty of inserts, one spanning
    /// words) come back once each, in order.
    #[test]
    fn a_row_set_holds_each_row_once_in_batch_order() {
        let batches = [batch(3), batch(100), batch(1), batch(70)];
        let mut set = RowSet::default();
        let rows = [(3, 69), (1, 0), (0, 2), (1, 99), (3, 0), (1, 63), (1, 64), (0, 0)];
        for &(b, r) in &rows {
            assert!(set.insert(&batches, b, r), "({b}, {r}) is new");
        }
        assert!(!set.insert(&batches, 1, 63), "(1, 63) was there");
        let mut sorted = rows.to_vec();
        sorted.sort();
        assert_eq!(set.iter().collect::<Vec<_>>(), sorted);
        assert_eq!(RowSet::default().iter().count(), 0);
    }
}
