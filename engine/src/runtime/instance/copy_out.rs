//! Step 6 of a system run: what the system may have written goes back into
//! the world: the columns of its `&mut` query terms (through the adapter
//! for a component seen through one), the resources it took with `ResMut`,
//! and its message readers' cursors move on.

use super::ModInstance;
use super::copy_in::{BatchLayout, column_ptr, item_size};
use super::plan::{ParamPlan, QueryPlan};
use crate::runtime::components::NamedComponent;
use crate::runtime::messages::ModMessages;
use bevy::ecs::change_detection::Tick;
use bevy::prelude::*;
use mod_api::abi::{FRAME_HEADER_SIZE, TOUCHED_LOCATED};

impl ModInstance {
    /// Copies the written columns and resources of the run of system `i`
    /// (frame at `base`) back into `world`.
    pub(super) fn copy_out(&mut self, i: usize, world: &mut World, base: usize, size: usize, change_tick: Tick) {
        {
            let frame = &self.memory.data(&self.store)[base..base + size];
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(q) => {
                        // Columns left out and never all written (ABI 1.8):
                        // only the rows the host wrote can go back.
                        let deferred = self.deferred.iter().find(|d| d.slot == p as u32);
                        if let Some(written) = deferred.and_then(|d| d.unfetched_rows()) {
                            write_back_found(frame, q, &self.batches[p], written, world, change_tick);
                            continue;
                        }
                        // What the system reported it may have changed (ABI 1.7).
                        let at = FRAME_HEADER_SIZE + 8 * p + 4;
                        let reported = u32::from_le_bytes(frame[at..at + 4].try_into().expect("4 bytes"));
                        match &self.found {
                            Some(found) if reported == TOUCHED_LOCATED => {
                                let found = found.iter().filter(|f| f.0 == p as u32).map(|&(_, b, r)| (b, r));
                                write_back_found(frame, q, &self.batches[p], found, world, change_tick);
                            }
                            _ => read_back_query(frame, q, &self.batches[p], world, change_tick),
                        }
                    }
                    ParamPlan::Reader { channel, cursor } => {
                        *cursor = world.resource::<ModMessages>().unread(*channel, *cursor).1;
                    }
                    _ => {}
                }
            }
        }
        // Game resources a `ResMut` system may have changed.
        let mut resources = Vec::new();
        {
            let frame = &self.memory.data(&self.store)[base..base + size];
            for (p, param) in self.systems[i].params.iter().enumerate() {
                if let ParamPlan::Resource { resource, write: true, .. } = param {
                    let at = self.slots[p].offset as usize;
                    resources.push((resource.id, frame[at..at + resource.size as usize].to_vec()));
                }
            }
        }
        for (id, bytes) in resources {
            if let Some(mut value) = world.get_resource_mut_by_id(id) {
                // SAFETY: the resource is plain data of `bytes.len()` bytes
                // (checked when it was exposed and when the mod declared it).
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), value.as_mut().as_ptr(), bytes.len()) };
            }
        }
    }
}

/// Writes back the `&mut` columns of query `q`'s batches: only the rows
/// whose bytes the mod changed, and only those rows' change ticks are set
/// to `tick`, so a Bevy system's `Changed<T>` sees exactly the entities a mod
/// changed (by value: a mod that writes a value equal to the old one has
/// not changed it, like Bevy's `set_if_neq`; DESIGN.md, "Change detection: how does a native `Changed<T>` see a mod's writes?").
pub(super) fn read_back_query(frame: &[u8], q: &QueryPlan, batches: &[BatchLayout], world: &World, tick: Tick) {
    for b in batches {
        let table = &world.storages().tables[b.table];
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            if !t.write || at == 0 || t.component.size == 0 {
                continue;
            }
            let (Some(dst), Some(ticks)) =
                (column_ptr(table, t.component, b.len), table.get_changed_ticks_slice_for(t.component.id))
            else {
                continue;
            };
            let size = t.component.size as usize;
            let views = &frame[at..at + size * b.len];
            if let Some(rows) = &b.rows {
                scatter(views, dst, ticks, t.component, rows, world, tick);
                continue;
            }
            let ticks = &ticks[..b.len];
            // SAFETY: exclusive world access; nothing else borrows the
            // column's change ticks (`UnsafeCell<Tick>` is a `Tick`).
            let ticks = unsafe { std::slice::from_raw_parts_mut(ticks.as_ptr() as *mut Tick, ticks.len()) };
            match t.component.adapter {
                // SAFETY: as in `write_query`; the views were checked
                // (`check_views`); the caller has exclusive world access.
                Some(adapter) => unsafe { (adapter.apply_views)(views, dst, ticks, tick) },
                None => {
                    // SAFETY: as in `write_query`: the column holds `len`
                    // values of `size` bytes; the caller has exclusive world
                    // access and the column's cells are `UnsafeCell`s.
                    let column = unsafe { std::slice::from_raw_parts_mut(dst, size * b.len) };
                    write_changed_rows(views, column, size, ticks, tick);
                }
            }
        }
    }
}

/// Writes back the chosen `rows` of a column (a query with change filters):
/// view `i` goes to table row `rows[i]`, if it differs.
fn scatter(
    views: &[u8],
    column: *mut u8,
    ticks: &[std::cell::UnsafeCell<Tick>],
    c: NamedComponent,
    rows: &[u32],
    world: &World,
    tick: Tick,
) {
    let item = item_size(world, c);
    for (view, &r) in views.chunks_exact(c.size as usize).zip(rows) {
        write_row(view, column, ticks, c, r as usize, item, tick);
    }
}

/// Writes back, of query `q`'s `&mut` columns, only the batch rows in
/// `found` (`(batch, row)`, what `query_locate` found): a system that
/// reported `TOUCHED_LOCATED` changed no other (ABI 1.7).
fn write_back_found(
    frame: &[u8],
    q: &QueryPlan,
    batches: &[BatchLayout],
    found: impl Iterator<Item = (u32, u32)>,
    world: &World,
    tick: Tick,
) {
    for (batch, row) in found {
        let Some(b) = batches.get(batch as usize).filter(|b| (row as usize) < b.len) else { continue };
        let row = row as usize;
        let table = &world.storages().tables[b.table];
        let table_row = b.rows.as_ref().map_or(row, |rows| rows[row] as usize);
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            if !t.write || at == 0 || t.component.size == 0 {
                continue;
            }
            // A game function the system called may have shrunk the table.
            let len = table.entity_count() as usize;
            if table_row >= len {
                continue;
            }
            let (Some(column), Some(ticks)) =
                (column_ptr(table, t.component, len), table.get_changed_ticks_slice_for(t.component.id))
            else {
                continue;
            };
            let size = t.component.size as usize;
            let view = &frame[at + row * size..at + (row + 1) * size];
            write_row(view, column, ticks, t.component, table_row, item_size(world, t.component), tick);
        }
    }
}

/// Writes `view` back to row `r` of component `c`'s `column` (values of
/// `item` bytes) if it differs, and then sets the row's tick to `tick`.
fn write_row(
    view: &[u8],
    column: *mut u8,
    ticks: &[std::cell::UnsafeCell<Tick>],
    c: NamedComponent,
    r: usize,
    item: usize,
    tick: Tick,
) {
    // SAFETY: row `r` of the column, `item` bytes; exclusive world
    // access, and the cells are `UnsafeCell`s.
    let value = unsafe { column.add(r * item) };
    // SAFETY: as above, for row `r`'s change tick.
    let t = unsafe { &mut *ticks[r].get() };
    match c.adapter {
        // SAFETY: one checked view for the one component at `value`.
        Some(adapter) => unsafe { (adapter.apply_views)(view, value, std::slice::from_mut(t), tick) },
        None => {
            // SAFETY: `size` bytes of plain data at `value`.
            let old = unsafe { std::slice::from_raw_parts_mut(value, c.size as usize) };
            if old != view {
                old.copy_from_slice(view);
                *t = tick;
            }
        }
    }
}

/// Copies each `size`-byte row of `views` that differs from the same row of
/// `column` into it, and sets that row's tick in `ticks` to `tick`.
///
/// NOTE: rows are compared in blocks first (one `memcmp` of 64 rows), so
/// the rows a mod left alone cost about a memory read; rows of the common
/// sizes are then compared as fixed-size arrays, without a `memcmp` call
/// per row (which made `integrate_100k` 3.5 times slower).
fn write_changed_rows(views: &[u8], column: &mut [u8], size: usize, ticks: &mut [Tick], tick: Tick) {
    const BLOCK: usize = 64;
    for (block, (new, old)) in views.chunks(size * BLOCK).zip(column.chunks_mut(size * BLOCK)).enumerate() {
        if new == old {
            continue;
        }
        let ticks = &mut ticks[block * BLOCK..];
        match size {
            4 => rows::<4>(new, old, ticks, tick),
            8 => rows::<8>(new, old, ticks, tick),
            12 => rows::<12>(new, old, ticks, tick),
            16 => rows::<16>(new, old, ticks, tick),
            24 => rows::<24>(new, old, ticks, tick),
            32 => rows::<32>(new, old, ticks, tick),
            _ => {
                for ((new, old), t) in new.chunks_exact(size).zip(old.chunks_exact_mut(size)).zip(ticks) {
                    if new != old {
                        old.copy_from_slice(new);
                        *t = tick;
                    }
                }
            }
        }
    }
}

/// [`write_changed_rows`] for rows of `N` bytes.
fn rows<const N: usize>(new: &[u8], old: &mut [u8], ticks: &mut [Tick], tick: Tick) {
    let new = new.as_chunks::<N>().0;
    let old = old.as_chunks_mut::<N>().0;
    // Branch-free: every row of a block that differs somewhere is stored,
    // and the tick chosen, so the loop vectorizes.
    for ((new, old), t) in new.iter().zip(old).zip(ticks) {
        let differs = new != old;
        *old = *new;
        *t = if differs { tick } else { *t };
    }
}

#[cfg(test)]
mod tests {
    use super::write_changed_rows;

    use bevy::ecs::change_detection::Tick;

    /// Every row size (the fixed-size paths and the general one), across
    /// block boundaries: exactly the rows that differ are written and get
    /// the new tick.
    #[test]
    fn only_rows_that_differ_are_written_and_marked() {
        for size in [1, 2, 4, 8, 12, 16, 20, 24, 32, 40] {
            let len = 200;
            let mut column: Vec<u8> = (0..size * len).map(|i| (i % 251) as u8).collect();
            let mut views = column.clone();
            let changed = [0, 63, 64, 65, 130, 199];
            for &row in &changed {
                views[row * size + size / 2] ^= 0x5a;
            }
            let mut ticks = vec![Tick::new(1); len];
            write_changed_rows(&views, &mut column, size, &mut ticks, Tick::new(7));
            assert_eq!(column, views, "size {size}");
            let marked: Vec<usize> = (0..len).filter(|&r| ticks[r] == Tick::new(7)).collect();
            assert_eq!(marked, changed, "size {size}");
            write_changed_rows(&views, &mut column, size, &mut ticks, Tick::new(9));
            assert!(ticks.iter().all(|&t| t != Tick::new(9)), "an unchanged column marks nothing (size {size})");
        }
    }
}
