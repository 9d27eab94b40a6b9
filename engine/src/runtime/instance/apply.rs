//! Step 7 of a system run: its checked commands are applied, in parameter
//! order, then its messages published (a message type the game exposes
//! goes to Bevy's `Messages` too).

use super::ModInstance;
use super::check::Command;
use crate::runtime::messages::{ChannelId, ModMessages};
use crate::runtime::usage::ModUsage;
use bevy::prelude::*;

impl ModInstance {
    /// Applies a run's checked command streams, then publishes its messages.
    pub(super) fn apply(
        &mut self,
        world: &mut World,
        commands: Vec<Vec<Command<'_>>>,
        sent: Vec<(ChannelId, Vec<u8>)>,
    ) {
        if !commands.iter().all(Vec::is_empty) {
            world.resource_scope(|world, mut usage: Mut<ModUsage>| {
                let archetypes = world.archetypes().len();
                for stream in commands {
                    self.apply_commands(world, &mut usage, stream);
                }
                usage.add_archetypes(self.owner, world.archetypes().len() - archetypes);
            });
        }
        for (channel, bytes) in sent {
            match world.resource::<ModMessages>().bridge(channel) {
                Some(bridge) => (bridge.push)(world, channel, &bytes),
                None => world.resource_mut::<ModMessages>().write_raw(channel, &bytes),
            }
        }
    }

    /// Applies commands [`read_commands`](Self::read_commands) checked,
    /// counting what they add to the world in `usage`.
    pub(super) fn apply_commands(&mut self, world: &mut World, usage: &mut ModUsage, commands: Vec<Command<'_>>) {
        for command in commands {
            let (entity, bundle) = match command {
                Command::Spawn(bundle) => {
                    let entity = world.spawn_empty().id();
                    usage.spawned(self.owner, entity);
                    (entity, bundle)
                }
                Command::Insert(entity, bundle) => match entity.filter(|e| world.get_entity(*e).is_ok()) {
                    Some(e) => (e, bundle),
                    None => continue, // despawned: warned when read, or by an earlier command
                },
                Command::Remove(entity, c) => {
                    if let Some(mut e) = entity.and_then(|e| world.get_entity_mut(e).ok()) {
                        e.remove_by_id(c.id);
                    }
                    continue;
                }
                Command::Despawn(entity) => {
                    if let Some(e) = entity.filter(|e| world.get_entity(*e).is_ok()) {
                        world.despawn(e);
                    }
                    continue;
                }
            };
            let mut ids = Vec::with_capacity(bundle.len());
            let mut offsets = Vec::with_capacity(bundle.len());
            self.scratch.clear();
            let held = world.entity(entity);
            for (c, _) in bundle.iter().filter(|(c, _)| !held.contains_id(c.id)) {
                usage.added(self.owner, entity, c.id, c.size);
            }
            for (c, data) in &bundle {
                if let Some(adapter) = c.adapter {
                    // Checked when the stream was read.
                    (adapter.insert)(&mut world.entity_mut(entity), data);
                    continue;
                }
                let at = self.scratch.len() * 16;
                self.scratch.resize(self.scratch.len() + (c.size as usize).div_ceil(16), 0);
                bytemuck::cast_slice_mut::<u128, u8>(&mut self.scratch)[at..at + data.len()].copy_from_slice(data);
                ids.push(c.id);
                offsets.push(at);
            }
            let base = self.scratch.as_mut_ptr() as *mut u8;
            let ptrs = offsets.iter().map(|&o| {
                // SAFETY: `o` is a 16-aligned offset inside `scratch` holding the component's bytes.
                unsafe { bevy::ptr::OwningPtr::new(std::ptr::NonNull::new_unchecked(base.add(o))) }
            });
            // SAFETY: each pointer holds a valid value of the component with the matching id
            // (plain bytes with the declared layout, no drop glue).
            unsafe { world.entity_mut(entity).insert_by_ids(&ids, ptrs) };
        }
    }
}
