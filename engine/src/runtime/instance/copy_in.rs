//! Steps 1 to 3 of a system run: lay out the frame (header, parameter
//! slots, then per query one batch per matching table, per reader its
//! records, per resource its value; ABI.md, "Layout"), and copy the world
//! into it: one `memcpy` per column (a conversion per row for components
//! seen through an adapter).

use super::ModInstance;
use super::host::{LazyIds, LocatedBatch, instance_memory, write_entity_ids};
use super::on_demand::DeferredQuery;
use super::plan::{ParamPlan, QueryPlan};
use crate::runtime::components::NamedComponent;
use crate::runtime::error::ModError;
use crate::runtime::messages::ModMessages;
use bevy::ecs::change_detection::Tick;
use bevy::ecs::storage::{Table, TableId};
use bevy::prelude::*;
use mod_api::abi::{self, BatchHeader, DATA_ALIGN, FRAME_HEADER_SIZE, FrameHeader, QueryHeader, align_up};

/// Where one batch's blocks went in the frame.
pub(super) struct BatchLayout {
    pub(super) table: TableId,
    pub(super) len: usize,
    pub(super) header_at: usize,
    pub(super) entities_at: usize,
    pub(super) columns_at: Vec<usize>,
    /// The table rows in the batch, ascending, for a query with `Changed`
    /// or `Added` filters; `None`: every row, `0..len`.
    pub(super) rows: Option<Vec<u32>>,
}

/// What [`ModInstance::write_empty_frame`] did.
pub(super) enum EmptyFrame {
    /// The run has something to copy in: nothing was written, the full
    /// steps lay out and copy its frame.
    No,
    /// Every query matched nothing, and one of them is `Populated`: the
    /// system does not run (its change filters keep their last run, as in
    /// Bevy).
    NotRun,
    /// The frame was written; it is this many bytes.
    Written(usize),
    /// The frame of a system whose parameters are queries and the guest's
    /// own (`Res<Time>`, `Local`) was written again from its [`IdleFrame`]:
    /// nothing can come back from the run (no rows, writer, commands,
    /// reader or resource), so the caller skips the checks and the
    /// write-back.
    Idle,
}

/// The frame [`ModInstance::write_empty_frame`] last wrote for a system
/// whose parameters are only queries and guest-side ones, kept per system
/// and written again while no archetype was created since (so the queries
/// match the same tables) and those tables are still empty. Everything
/// after the header is the same bytes then; the header is the frame's own.
/// Checking this is a comparison and a loop over the (usually no) matched
/// tables, where writing the frame anew walks every parameter.
pub(crate) struct IdleFrame {
    /// `world.archetypes().len()` when it was written.
    archetypes: usize,
    /// The frame after its header: the slots and the empty query headers.
    tail: Box<[u8]>,
    /// The query slots, for the host functions' slot checks.
    query_slots: Box<[u32]>,
}

/// The rows of `table` that pass query `q`'s change filters: each `Changed`
/// component changed, and each `Added` one added, after `q.last_run` (as
/// Bevy's filters see it at `this_run`).
fn filtered_rows(q: &QueryPlan, table: &Table, this_run: Tick) -> Vec<u32> {
    let len = table.entity_count() as usize;
    let mut pass = vec![true; len];
    let lists = [(&q.changed, false), (&q.added, true)];
    for (ids, added) in lists {
        for &id in ids {
            let ticks = if added { table.get_added_ticks_slice_for(id) } else { table.get_changed_ticks_slice_for(id) };
            let Some(ticks) = ticks else {
                pass.fill(false);
                continue;
            };
            for (p, t) in pass.iter_mut().zip(ticks) {
                // SAFETY: the caller holds the world; nothing writes the ticks.
                *p &= unsafe { *t.get() }.is_newer_than(q.last_run, this_run);
            }
        }
    }
    (0..len as u32).filter(|&r| pass[r as usize]).collect()
}

impl ModInstance {
    /// Step 1: lays out the frame of a run of system `i` in `self.slots` and
    /// `self.batches`; returns its size.
    pub(super) fn lay_out(&mut self, i: usize, world: &World, this_run: Tick) -> Result<usize, ModError> {
        let nparams = self.systems[i].params.len();
        let mut size = align_up(FRAME_HEADER_SIZE + 8 * nparams, DATA_ALIGN);
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        slots.resize(nparams, abi::ParamSlot::default());
        self.batches.resize_with(nparams, Vec::new);
        {
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(q) => {
                        q.prepare(world, this_run);
                        let batches = &mut self.batches[p];
                        batches.clear();
                        let stride = align_up(size_of::<BatchHeader>() + 4 * q.terms.len(), 4);
                        let tables = world.storages().tables.iter().len();
                        let live: Vec<(TableId, usize, Option<Vec<u32>>)> = q
                            .tables
                            .iter()
                            .filter(|t| t.as_usize() < tables)
                            .map(|&t| {
                                let table = &world.storages().tables[t];
                                if q.filters_rows() {
                                    let rows = filtered_rows(q, table, this_run);
                                    (t, rows.len(), Some(rows))
                                } else {
                                    (t, table.entity_count() as usize, None)
                                }
                            })
                            .filter(|(_, len, _)| *len > 0)
                            .collect();
                        let head_at = size;
                        size += query_headers_size(stride, live.len());
                        for (n, (table, len, rows)) in live.into_iter().enumerate() {
                            let entities_at = size;
                            size = align_up(size + 8 * len, DATA_ALIGN);
                            let mut columns_at = Vec::with_capacity(q.terms.len());
                            for t in &q.terms {
                                if world.storages().tables[table].has_column(t.component.id) {
                                    columns_at.push(size);
                                    size = align_up(size + t.component.size as usize * len, DATA_ALIGN);
                                } else {
                                    columns_at.push(0);
                                }
                            }
                            let header_at = head_at + size_of::<QueryHeader>() + n * stride;
                            batches.push(BatchLayout { table, len, header_at, entities_at, columns_at, rows });
                        }
                        slots[p] = abi::ParamSlot { offset: head_at as u32, len: (size - head_at) as u32 };
                    }
                    ParamPlan::Reader { channel, cursor } => {
                        let (bytes, _) = world.resource::<ModMessages>().unread(*channel, *cursor);
                        slots[p] = abi::ParamSlot { offset: size as u32, len: bytes.len() as u32 };
                        size = align_up(size + bytes.len(), DATA_ALIGN);
                    }
                    ParamPlan::Resource { resource, local, .. } => {
                        if world.get_resource_by_id(resource.id).is_none() {
                            let name = &self.descriptor.resources[*local as usize].name;
                            let cause = format!("resource {name} is not in the world (the game has not inserted it)");
                            return Err(self.system_error(i, cause));
                        }
                        slots[p] = abi::ParamSlot { offset: size as u32, len: resource.size };
                        size = align_up(size + resource.size as usize, DATA_ALIGN);
                    }
                    _ => {}
                }
            }
        }
        if size > u32::MAX as usize / 2 {
            return Err(self.system_error(i, format!("frame of {size} bytes is too large")));
        }

        self.slots = slots;
        Ok(size)
    }

    /// Steps 1 to 3 at once for a run with nothing to copy in: no query
    /// matches a row, no reader has records waiting, no resource is read.
    /// The frame is the header, the slots and each query's header with no
    /// batches, at the offsets [`lay_out`](Self::lay_out) gives them, but
    /// without its pass over batches and blocks. (`idle_system` in
    /// `benches/ecs_bridge.rs`: most systems of a game find nothing to do
    /// in most frames.)
    pub(super) fn write_empty_frame(
        &mut self,
        i: usize,
        world: &World,
        header: &FrameHeader,
        seed: u64,
        this_run: Tick,
    ) -> Result<EmptyFrame, ModError> {
        if self.rewrite_idle_frame(i, world, header, seed, this_run) {
            return Ok(EmptyFrame::Idle);
        }
        let tables = &world.storages().tables;
        let mut populated = false;
        for param in self.systems[i].params.iter_mut() {
            match param {
                ParamPlan::Query(q) => {
                    q.prepare(world, this_run);
                    if q.has_rows(tables) {
                        return Ok(EmptyFrame::No);
                    }
                    populated |= q.populated;
                }
                ParamPlan::Reader { channel, cursor } => {
                    if !world.resource::<ModMessages>().unread(*channel, *cursor).0.is_empty() {
                        return Ok(EmptyFrame::No);
                    }
                }
                ParamPlan::Resource { .. } => return Ok(EmptyFrame::No),
                ParamPlan::Writer { .. } | ParamPlan::Commands | ParamPlan::Guest => {}
            }
        }
        if populated {
            return Ok(EmptyFrame::NotRun);
        }
        let params = &self.systems[i].params;
        let queries = params.iter().filter(|p| matches!(p, ParamPlan::Query(_))).count();
        let head_at = align_up(FRAME_HEADER_SIZE + 8 * params.len(), DATA_ALIGN);
        let query_size = query_headers_size(0, 0);
        let size = head_at + queries * query_size;
        self.ensure_frame_buffer(size, i)?;
        let params = &self.systems[i].params;
        self.slots.clear();
        self.slots.resize(params.len(), abi::ParamSlot::default());
        self.batches.resize_with(params.len(), Vec::new);
        let base = self.buffer_ptr as usize;
        let (mem, state) = instance_memory(&mut self.store);
        let frame = &mut mem[base..base + size];
        Self::write_header(frame, header, seed, params.len());
        let mut at = head_at;
        for (p, param) in params.iter().enumerate() {
            match param {
                ParamPlan::Query(q) => {
                    self.batches[p].clear();
                    self.slots[p] = abi::ParamSlot { offset: at as u32, len: query_size as u32 };
                    state.query_slots.push(p as u32);
                    write_query(frame, base, at, p, q, &[], world, &mut state.lazy_ids, None);
                    at += query_size;
                }
                ParamPlan::Reader { .. } => self.slots[p] = abi::ParamSlot { offset: at as u32, len: 0 },
                _ => {}
            }
        }
        write_slots(frame, &self.slots);
        if params.iter().all(|p| matches!(p, ParamPlan::Query(_) | ParamPlan::Guest)) {
            let idle = IdleFrame {
                archetypes: world.archetypes().len(),
                tail: frame[FRAME_HEADER_SIZE..].into(),
                query_slots: state.query_slots.as_slice().into(),
            };
            self.systems[i].idle = Some(idle);
        }
        Ok(EmptyFrame::Written(size))
    }

    /// Writes system `i`'s [`IdleFrame`] again, if it has one and it still
    /// holds: no archetype was created since, and every table its queries
    /// match is still empty. Returns whether it did.
    fn rewrite_idle_frame(&mut self, i: usize, world: &World, header: &FrameHeader, seed: u64, this_run: Tick) -> bool {
        let system = &mut self.systems[i];
        let Some(idle) = &system.idle else { return false };
        let size = FRAME_HEADER_SIZE + idle.tail.len();
        if idle.archetypes != world.archetypes().len() || size > self.buffer_cap as usize {
            return false;
        }
        let tables = &world.storages().tables;
        for param in system.params.iter_mut() {
            if let ParamPlan::Query(q) = param {
                if q.has_rows(tables) {
                    return false;
                }
                q.clamp_last_run(this_run);
            }
        }
        let base = self.buffer_ptr as usize;
        let (mem, state) = instance_memory(&mut self.store);
        let frame = &mut mem[base..base + size];
        Self::write_header(frame, header, seed, system.params.len());
        frame[FRAME_HEADER_SIZE..].copy_from_slice(&idle.tail);
        state.query_slots.extend_from_slice(&idle.query_slots);
        true
    }

    /// Step 3: writes the frame laid out by [`lay_out`](Self::lay_out) at
    /// `base` in the mod's memory: header, slots, query data, records and
    /// resource values.
    pub(super) fn copy_in(
        &mut self,
        i: usize,
        world: &World,
        header: &FrameHeader,
        seed: u64,
        base: usize,
        size: usize,
    ) {
        let nparams = self.systems[i].params.len();
        let slots = std::mem::take(&mut self.slots);
        {
            let (mem, state) = instance_memory(&mut self.store);
            let frame = &mut mem[base..base + size];
            Self::write_header(frame, header, seed, nparams);
            write_slots(frame, &slots);
            for (p, param) in self.systems[i].params.iter().enumerate() {
                match param {
                    ParamPlan::Query(q) => {
                        let head_at = slots[p].offset as usize;
                        state.query_slots.push(p as u32);
                        state.located.extend(self.batches[p].iter().enumerate().map(|(n, b)| LocatedBatch {
                            slot: p as u32,
                            batch: n as u32,
                            table: b.table,
                            len: b.len as u32,
                            rows: b.rows.as_ref().map_or((std::ptr::null(), 0), |r| (r.as_ptr(), r.len())),
                        }));
                        let deferred = self.fetches_columns.then_some(&mut state.deferred);
                        let batches = &self.batches[p];
                        write_query(frame, base, head_at, p, q, batches, world, &mut state.lazy_ids, deferred);
                    }
                    ParamPlan::Reader { channel, cursor } => {
                        let (bytes, _) = world.resource::<ModMessages>().unread(*channel, *cursor);
                        let at = slots[p].offset as usize;
                        frame[at..at + bytes.len()].copy_from_slice(bytes);
                    }
                    ParamPlan::Resource { resource, .. } => {
                        let at = slots[p].offset as usize;
                        let len = resource.size as usize;
                        if let Some(value) = world.get_resource_by_id(resource.id) {
                            // SAFETY: the resource is `size` bytes of plain data.
                            let bytes = unsafe { std::slice::from_raw_parts(value.as_ptr(), len) };
                            frame[at..at + len].copy_from_slice(bytes);
                        }
                    }
                    _ => {}
                }
            }
        }

        self.slots = slots;
    }

    /// Writes the frame header (with `seed` and the parameter count) at the
    /// start of the frame buffer `frame`.
    pub(super) fn write_header(frame: &mut [u8], header: &FrameHeader, seed: u64, param_count: usize) {
        // SAFETY: FrameHeader is repr(C) plain data of FRAME_HEADER_SIZE bytes.
        frame[..FRAME_HEADER_SIZE].copy_from_slice(unsafe {
            std::slice::from_raw_parts(header as *const FrameHeader as *const u8, FRAME_HEADER_SIZE)
        });
        // Patched in place: a copy of the header with the two fields set
        // stalled on the store that set them (`idle_system`).
        put_u32(frame, std::mem::offset_of!(FrameHeader, param_count), param_count as u32);
        let at = std::mem::offset_of!(FrameHeader, seed);
        frame[at..at + 8].copy_from_slice(&seed.to_le_bytes());
    }
}

/// Bytes of a query's block of headers (ABI.md, "Layout"): its
/// `QueryHeader`, then `batches` batch headers `stride` bytes apart, padded
/// to the data alignment (the block starts aligned).
fn query_headers_size(stride: usize, batches: usize) -> usize {
    align_up(size_of::<QueryHeader>() + stride * batches, DATA_ALIGN)
}

/// Writes the parameter slots after the frame header.
fn write_slots(frame: &mut [u8], slots: &[abi::ParamSlot]) {
    for (p, slot) in slots.iter().enumerate() {
        let at = FRAME_HEADER_SIZE + 8 * p;
        put_u32(frame, at, slot.offset);
        put_u32(frame, at + 4, slot.len);
    }
}

pub(super) fn put_u32(frame: &mut [u8], at: usize, v: u32) {
    frame[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes query `q`'s data at `head_at` of `frame` (which starts at `base`
/// in the mod's memory). Entity ids the plan leaves out go to `lazy`, for
/// `query_entities` on parameter slot `slot`. With `deferred` (the mod
/// imports `query_fetch`, ABI 1.8), the columns are laid out but not
/// written: the query goes to `deferred`, for `query_fetch` and
/// `query_locate` to write them.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_query(
    frame: &mut [u8],
    base: usize,
    head_at: usize,
    slot: usize,
    q: &QueryPlan,
    batches: &[BatchLayout],
    world: &World,
    lazy: &mut Vec<LazyIds>,
    deferred: Option<&mut Vec<DeferredQuery>>,
) {
    let stride = align_up(size_of::<BatchHeader>() + 4 * q.terms.len(), 4);
    put_u32(frame, head_at, batches.len() as u32);
    put_u32(frame, head_at + 4, stride as u32);
    for b in batches {
        let table = &world.storages().tables[b.table];
        put_u32(frame, b.header_at, b.len as u32);
        put_u32(frame, b.header_at + 4, b.entities_at as u32);
        let ids_out = &mut frame[b.entities_at..b.entities_at + 8 * b.len];
        let ids = &table.entities()[..table.entity_count() as usize];
        match &b.rows {
            // Chosen rows: their ids are always written.
            Some(rows) => {
                for (out, &r) in ids_out.chunks_exact_mut(8).zip(rows) {
                    out.copy_from_slice(&ids[r as usize].to_bits().to_le_bytes());
                }
            }
            None if q.eager_ids => write_entity_ids(ids_out, &ids[..b.len]),
            None => lazy.push(LazyIds { slot: slot as u32, at: base + b.entities_at, ids: ids.as_ptr(), len: b.len }),
        }
        for (n, &at) in b.columns_at.iter().enumerate() {
            put_u32(frame, b.header_at + size_of::<BatchHeader>() + 4 * n, at as u32);
        }
        if deferred.is_none() {
            write_columns(frame, q, b, world);
        }
    }
    if let Some(deferred) = deferred.filter(|_| !batches.is_empty()) {
        deferred.push(DeferredQuery::new(slot, base, q, batches));
    }
}

/// Writes the columns of batch `b` of query `q` into `frame`, at the
/// offsets laid out for them.
pub(super) fn write_columns(frame: &mut [u8], q: &QueryPlan, b: &BatchLayout, world: &World) {
    let table = &world.storages().tables[b.table];
    for (t, &at) in q.terms.iter().zip(&b.columns_at) {
        if at == 0 {
            continue;
        }
        let bytes = t.component.size as usize * b.len;
        if let Some(rows) = &b.rows {
            gather(frame, at, table, t.component, rows, world);
            continue;
        }
        if let Some(src) = column_ptr(table, t.component, b.len) {
            let out = &mut frame[at..at + bytes];
            match t.component.adapter {
                // SAFETY: the column holds `len` values of the adapter's
                // component; `out` has room for `len` views.
                Some(adapter) => unsafe { (adapter.to_views)(src, b.len, out) },
                // SAFETY: the column holds `len` values of `size` bytes; the
                // destination range was laid out for exactly that.
                None => unsafe { std::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), bytes) },
            }
        }
    }
}

/// Copies the `rows` of component `c`'s column in `table` into `frame` at
/// `at`, one after another (through the adapter's view, for one).
pub(super) fn gather(frame: &mut [u8], at: usize, table: &Table, c: NamedComponent, rows: &[u32], world: &World) {
    let size = c.size as usize;
    let len = table.entity_count() as usize;
    let Some(src) = column_ptr(table, c, len) else { return };
    let item = item_size(world, c);
    for (i, &r) in rows.iter().enumerate() {
        // Written during a call (ABI 1.8), after a game function the
        // system called may have shrunk the table.
        if r as usize >= len {
            continue;
        }
        let out = &mut frame[at + i * size..at + (i + 1) * size];
        // SAFETY: row `r` < the table's rows; each value is `item` bytes
        // (the view's `size` for plain data).
        let value = unsafe { src.add(r as usize * item) };
        match c.adapter {
            // SAFETY: one component at `value`; `out` has room for one view.
            Some(adapter) => unsafe { (adapter.to_views)(value, 1, out) },
            // SAFETY: `size` bytes of plain data at `value`.
            None => out.copy_from_slice(unsafe { std::slice::from_raw_parts(value, size) }),
        }
    }
}

/// Bytes of one value of component `c` in its column (the component's
/// own size, which differs from its view's for an adapter).
pub(super) fn item_size(world: &World, c: NamedComponent) -> usize {
    match c.adapter {
        Some(_) => world.components().get_info(c.id).map_or(0, |info| info.layout().size()),
        None => c.size as usize,
    }
}

/// Raw pointer to the first byte of a component column with `len` rows
/// (the column's values are contiguous, `size` bytes each).
pub(super) fn column_ptr(table: &bevy::ecs::storage::Table, c: NamedComponent, len: usize) -> Option<*mut u8> {
    let column = table.get_column(c.id)?;
    if len == 0 || len > table.entity_count() as usize {
        return None;
    }
    // NOTE: not `get_data_slice::<u8>(len * size)`: its contract wants the
    // column's own type, and its debug assertion (found by the fuzz target
    // `mod_output`) compares the byte count with the row capacity.
    let first = bevy::ecs::storage::TableRow::new(nonmax::NonMaxU32::ZERO);
    // SAFETY: row 0 exists (`len` > 0 rows). The pointer is raw: the caller
    // has exclusive world access while it copies through it.
    Some(unsafe { column.get_data_unchecked(first) }.as_ptr())
}
