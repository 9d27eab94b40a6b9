//! Step 6 of a system run: what the system may have written goes back into
//! the world: the columns of its `&mut` query terms (through the adapter
//! for a component seen through one), the resources it took with `ResMut`,
//! and its message readers' cursors move on.

use super::ModInstance;
use super::copy_in::{BatchLayout, column_ptr};
use super::plan::{ParamPlan, QueryPlan};
use crate::runtime::messages::ModMessages;
use bevy::prelude::*;

impl ModInstance {
    /// Copies the written columns and resources of the run of system `i`
    /// (frame at `base`) back into `world`.
    pub(super) fn copy_out(&mut self, i: usize, world: &mut World, base: usize, size: usize) {
        let change_tick = world.change_tick();
        {
            let frame = &self.memory.data(&self.store)[base..base + size];
            for (p, param) in self.systems[i].params.iter_mut().enumerate() {
                match param {
                    ParamPlan::Query(q) => read_back_query(frame, q, &self.batches[p], world, change_tick),
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

pub(super) fn read_back_query(
    frame: &[u8],
    q: &QueryPlan,
    batches: &[BatchLayout],
    world: &World,
    tick: bevy::ecs::change_detection::Tick,
) {
    for b in batches {
        let table = &world.storages().tables[b.table];
        for (t, &at) in q.terms.iter().zip(&b.columns_at) {
            if !t.write || at == 0 {
                continue;
            }
            let bytes = t.component.size as usize * b.len;
            if let Some(dst) = column_ptr(table, t.component, b.len) {
                let views = &frame[at..at + bytes];
                match t.component.adapter {
                    // SAFETY: as in `write_query`; the views were checked
                    // (`check_views`); the caller has exclusive world access.
                    Some(adapter) => unsafe { (adapter.apply_views)(views, dst, b.len) },
                    // SAFETY: as in `write_query`; the caller has exclusive world
                    // access and the column's cells are `UnsafeCell`s.
                    None => unsafe { std::ptr::copy_nonoverlapping(views.as_ptr(), dst, bytes) },
                }
            }
            if let Some(ticks) = table.get_changed_ticks_slice_for(t.component.id) {
                for cell in ticks {
                    // SAFETY: exclusive world access; nothing else borrows the ticks.
                    unsafe { *cell.get() = tick };
                }
            }
        }
    }
}
