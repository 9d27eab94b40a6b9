//! What each mod makes the host keep, counted against that mod alone
//! (ABI.md, "Security"): the entities its commands spawned, the bytes of
//! component values its commands added, and the names it added to the
//! process-wide tables. A mod's usage outlives its instances (a reload, a
//! failure), because what it put in the world stays there.
//!
//! Values leave the count when they leave the world, whoever removes them:
//! Bevy records every removal (`World::removed_components`), and
//! [`ModUsage::sync`] reads those records once per frame (in `Last`) and
//! whenever a mod is about to go over a limit, so the cost is the number
//! of removals, never the size of the world.

use super::ModLimits;
use bevy::ecs::component::ComponentId;
use bevy::ecs::lifecycle::RemovedComponentEntity;
use bevy::ecs::message::MessageCursor;
use bevy::prelude::*;
use std::collections::HashMap;

/// The least a component value counts for, in bytes: a zero-sized marker
/// still costs the world a slot.
pub const MIN_VALUE_BYTES: usize = 8;

/// What one mod's commands keep in the world.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Entities it spawned that still hold a component value a mod added.
    /// One spawned without components counts for good: nothing it holds
    /// would tell when it leaves.
    pub entities: usize,
    /// Bytes of the component values it added that are still in the world,
    /// each counted at least 8 bytes (`MIN_VALUE_BYTES`).
    pub component_bytes: usize,
    /// Component and message names it added to the process-wide tables.
    pub names: usize,
    /// Archetypes its commands created (never freed).
    pub archetypes: usize,
}

/// The id [`ModUsage`] knows a mod by: stable for its file across reloads.
pub(crate) type Owner = u32;

/// One entity holding values some mods added.
#[derive(Default)]
struct Holding {
    /// The mod that spawned it, if one did.
    spawned_by: Option<Owner>,
    /// `(component, bytes counted, mod)` of each value a mod added.
    values: Vec<(ComponentId, u32, Owner)>,
}

/// Every mod's [`Usage`], by mod file.
#[derive(Resource, Default)]
pub struct ModUsage {
    by_file: HashMap<String, Owner>,
    usage: Vec<Usage>,
    held: HashMap<Entity, Holding>,
    /// Where this ledger is in Bevy's removal records of each component it
    /// counts values of.
    cursors: HashMap<ComponentId, MessageCursor<RemovedComponentEntity>>,
}

impl ModUsage {
    /// What the mod in `file` keeps in the world now (after the last
    /// [`sync`](Self::sync)).
    pub fn of(&self, file: &str) -> Usage {
        self.by_file.get(file).map_or_else(Usage::default, |&o| self.usage[o as usize])
    }

    /// The owner id of the mod in `file`, made on first use.
    pub(crate) fn owner(&mut self, file: &str) -> Owner {
        if let Some(&o) = self.by_file.get(file) {
            return o;
        }
        let o = self.usage.len() as Owner;
        self.usage.push(Usage::default());
        self.by_file.insert(file.to_string(), o);
        o
    }

    pub(crate) fn get(&self, owner: Owner) -> Usage {
        self.usage[owner as usize]
    }

    /// Fails, naming the limit, if `owner` may not add one more name.
    pub(crate) fn check_new_name(&self, owner: Owner, what: &str, limits: &ModLimits) -> Result<(), String> {
        if self.get(owner).names >= limits.max_names_per_mod {
            return Err(format!(
                "{what} would be its {}th new component or message name; the limit is {} (max_names_per_mod)",
                limits.max_names_per_mod + 1,
                limits.max_names_per_mod
            ));
        }
        Ok(())
    }

    /// Fails, naming the limit, if `owner` has created as many archetypes
    /// as it may.
    pub(crate) fn check_archetypes(&self, owner: Owner, limits: &ModLimits) -> Result<(), String> {
        let n = self.get(owner).archetypes;
        if n >= limits.max_archetypes_per_mod {
            return Err(format!(
                "its commands created {n} archetypes (sets of components entities have); the limit is {} \
                 (max_archetypes_per_mod)",
                limits.max_archetypes_per_mod
            ));
        }
        Ok(())
    }

    /// Counts archetypes `owner`'s commands created.
    pub(crate) fn add_archetypes(&mut self, owner: Owner, n: usize) {
        self.usage[owner as usize].archetypes += n;
    }

    /// Counts a name `owner` added to a process-wide table.
    pub(crate) fn add_name(&mut self, owner: Owner) {
        self.usage[owner as usize].names += 1;
    }

    /// Fails, naming the limit, if `owner` adding `spawns` entities and
    /// values of `bytes` (counted as [`value_bytes`] each) would go over
    /// its limits. Reads the world's removals first if it would, so what
    /// left the world since the last sync no longer counts.
    pub(crate) fn check_growth(
        &mut self,
        world: &World,
        owner: Owner,
        spawns: usize,
        bytes: usize,
        limits: &ModLimits,
    ) -> Result<(), String> {
        let over = |u: Usage| {
            u.entities + spawns > limits.max_entities_per_mod
                || u.component_bytes + bytes > limits.max_component_bytes_per_mod
        };
        if !over(self.get(owner)) {
            return Ok(());
        }
        self.sync(world);
        let u = self.get(owner);
        if u.entities + spawns > limits.max_entities_per_mod {
            return Err(format!(
                "its commands would keep {} entities in the world; the limit is {} (max_entities_per_mod)",
                u.entities + spawns,
                limits.max_entities_per_mod
            ));
        }
        if u.component_bytes + bytes > limits.max_component_bytes_per_mod {
            return Err(format!(
                "its commands would keep {} bytes of components in the world; the limit is {} \
                 (max_component_bytes_per_mod)",
                u.component_bytes + bytes,
                limits.max_component_bytes_per_mod
            ));
        }
        Ok(())
    }

    /// Counts an entity `owner` spawned.
    pub(crate) fn spawned(&mut self, owner: Owner, entity: Entity) {
        self.held.entry(entity).or_default().spawned_by = Some(owner);
        self.usage[owner as usize].entities += 1;
    }

    /// Counts a value of `component` (`size` bytes) `owner` added to
    /// `entity`, which did not have one.
    pub(crate) fn added(&mut self, owner: Owner, entity: Entity, component: ComponentId, size: u32) {
        let bytes = value_bytes(size as usize);
        let holding = self.held.entry(entity).or_default();
        // The entity lacks `component`: a value counted for it before left
        // since the last sync.
        let usage = &mut self.usage;
        holding.values.retain(|&(c, b, o)| {
            if c == component {
                usage[o as usize].component_bytes -= b as usize;
            }
            c != component
        });
        holding.values.push((component, bytes as u32, owner));
        usage[owner as usize].component_bytes += bytes;
        // A fresh cursor reads the removals Bevy still holds; those of
        // values this entity holds again are told apart in `removed`.
        self.cursors.entry(component).or_default();
    }

    /// Uncounts what left the world since the last sync: one step per
    /// removal Bevy recorded of a component this ledger counts.
    pub fn sync(&mut self, world: &World) {
        let removals = world.removed_components();
        let mut gone = Vec::new();
        for (&component, cursor) in &mut self.cursors {
            let Some(messages) = removals.get(component) else { continue };
            gone.extend(cursor.read(messages).map(|r| (Entity::from(r.clone()), component)));
        }
        for (entity, component) in gone {
            self.removed(world, entity, component);
        }
    }

    /// `entity` lost `component` (or was despawned): uncounts the values
    /// that are no longer there.
    fn removed(&mut self, world: &World, entity: Entity, component: ComponentId) {
        let Some(holding) = self.held.get_mut(&entity) else { return };
        let alive = world.get_entity(entity).ok();
        let usage = &mut self.usage;
        holding.values.retain(|&(c, bytes, owner)| {
            let still_there = alive.is_some_and(|e| c != component || e.contains_id(c));
            if !still_there {
                usage[owner as usize].component_bytes -= bytes as usize;
            }
            still_there
        });
        // A spawned entity counts while it holds a value a mod added: once
        // it is despawned, or holds none, it is the game's business.
        if holding.values.is_empty() {
            if let Some(owner) = holding.spawned_by {
                usage[owner as usize].entities -= 1;
            }
            self.held.remove(&entity);
        }
    }
}

/// What a value of `size` bytes counts for.
pub(crate) fn value_bytes(size: usize) -> usize {
    size.max(MIN_VALUE_BYTES)
}
