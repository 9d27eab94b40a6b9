//! Components by name: those the game exposes (its own plain-data
//! components, and Bevy's through adapters; see `expose`) and those mods
//! declare at run time (dynamic Bevy components). All are real components,
//! visible to every query, mod or game.

use super::error::PlanError;
use super::expose::{AdapterFns, GameApi, Kind, Refusal};
use super::values;
use bevy::ecs::component::{ComponentCloneBehavior, ComponentDescriptor, ComponentId, StorageType};
use bevy::prelude::*;
use mod_api::abi::{ComponentDecl, FieldDecl};
use std::alloc::Layout;
use std::collections::{HashMap, HashSet};

/// Largest component a mod may declare, in bytes.
pub const MAX_COMPONENT_SIZE: u32 = 64 * 1024;
/// Most components (names and layouts) mods may register in one process:
/// Bevy never frees a component id. Each mod may add at most
/// `ModLimits::max_names_per_mod` (256 by default), so with the defaults
/// 256 mods at their full quota fit, and a mod loaded after a greedy one
/// still starts.
pub const MAX_COMPONENTS: usize = 65_536;

/// A component known by name.
#[derive(Clone, Copy)]
pub struct NamedComponent {
    pub id: ComponentId,
    /// Bytes of one value as mods see it (for an adapter, of its view).
    pub size: u32,
    pub align: u32,
    /// The conversions of a component mods see through a view; `None` for
    /// plain data, copied as bytes.
    pub(crate) adapter: Option<AdapterFns>,
    /// The game exposes it read-only.
    pub read_only: bool,
}

impl std::fmt::Debug for NamedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedComponent")
            .field("id", &self.id)
            .field("size", &self.size)
            .field("align", &self.align)
            .field("adapter", &self.adapter.is_some())
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl NamedComponent {
    /// Whether `other` is the same component in the same layout.
    pub fn same(&self, other: &NamedComponent) -> bool {
        (self.id, self.size, self.align) == (other.id, other.size, other.align)
    }
}

/// What the registry knows of one name.
struct Known {
    current: NamedComponent,
    /// The fields of the current layout, if its declarer listed them.
    fields: Option<Vec<FieldDecl>>,
    /// One the game exposes: its layout never changes.
    game: bool,
}

/// Name → component, for everything mods can touch.
#[derive(Resource, Default)]
pub struct ModComponents {
    by_name: HashMap<String, Known>,
    /// Every component id registered here, current or replaced: an entity
    /// with one of them is one mods may command.
    ids: HashSet<ComponentId>,
}

/// A component's values converted to a new layout, ready to replace the old
/// ones (see [`ModComponents::prepare_migration`]).
pub struct Migration {
    pub name: String,
    pub from: NamedComponent,
    pub to: NamedComponent,
    fields: Option<Vec<FieldDecl>>,
    values: Vec<(Entity, Vec<u8>)>,
}

impl Migration {
    /// Number of values carried over.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl ModComponents {
    /// Registers a component the game exposes (see `expose`) under `name`.
    pub(crate) fn register_game(&mut self, name: &str, c: NamedComponent, fields: Option<Vec<FieldDecl>>) {
        self.ids.insert(c.id);
        self.by_name.insert(name.to_string(), Known { current: c, fields, game: true });
    }

    /// The component `decl` names, registering a dynamic component on first
    /// use. Fails if the layout is invalid or differs from the registered
    /// one, or if the name lies in one of the game's namespaces without
    /// being exposed.
    pub(crate) fn declare(&mut self, world: &mut World, decl: &ComponentDecl) -> Result<NamedComponent, PlanError> {
        let name = &decl.name;
        if let Some(api) = world.get_resource::<GameApi>() {
            api.check_declared(Kind::Component, name)?;
        }
        check_field_list(decl)?;
        if let Some(known) = self.by_name.get_mut(name) {
            let c = known.current;
            if let Some(why) = layout_change(c, known.fields.as_deref(), decl) {
                if known.game {
                    return Err(Refusal::Layout {
                        kind: Kind::Component,
                        name: name.clone(),
                        game: describe_layout(c.size, c.align, known.fields.as_deref()),
                        declared: describe_layout(decl.size, decl.align, decl.fields.as_deref()),
                    }
                    .into());
                }
                return Err(format!("component {name} is declared {why}").into());
            }
            if known.fields.is_none() {
                known.fields = decl.fields.clone();
            }
            return Ok(c);
        }
        let current = self.register_dynamic(world, decl)?;
        self.by_name.insert(name.clone(), Known { current, fields: decl.fields.clone(), game: false });
        Ok(current)
    }

    /// How `decl` differs from the registered layout of its name, if it does.
    pub fn layout_change(&self, decl: &ComponentDecl) -> Option<String> {
        let known = self.by_name.get(&decl.name)?;
        layout_change(known.current, known.fields.as_deref(), decl)
    }

    /// Registers `decl`'s new layout as a fresh component, leaving the
    /// current one in place until [`apply_migration`](Self::apply_migration).
    pub fn register_new_layout(&mut self, world: &mut World, decl: &ComponentDecl) -> Result<NamedComponent, String> {
        let known = self.by_name.get(&decl.name).ok_or_else(|| format!("component {} is not registered", decl.name))?;
        if known.game {
            return Err(format!("component {} is the game's: its layout cannot change", decl.name));
        }
        check_field_list(decl)?;
        self.register_dynamic(world, decl)
    }

    /// A new dynamic Bevy component for `decl`, within [`MAX_COMPONENTS`].
    fn register_dynamic(&mut self, world: &mut World, decl: &ComponentDecl) -> Result<NamedComponent, String> {
        if self.ids.len() >= MAX_COMPONENTS {
            return Err(format!(
                "component {} would be the {}th registered: the limit is {MAX_COMPONENTS}",
                decl.name,
                MAX_COMPONENTS + 1
            ));
        }
        let c = register_dynamic(world, decl)?;
        self.ids.insert(c.id);
        Ok(c)
    }

    /// True if `entity` has a component mods can see: only such entities
    /// (and none of the engine's own, such as windows and cameras) may be
    /// changed or despawned by a mod's commands.
    pub fn is_mod_visible(&self, world: &World, entity: Entity) -> bool {
        world.get_entity(entity).is_ok_and(|e| e.archetype().components().iter().any(|id| self.ids.contains(id)))
    }

    /// Converts every value of component `name` to layout `to` (fields
    /// `decl.fields`), by field name, without changing the world. Fails,
    /// naming the entity and the field, if any value does not convert or
    /// either layout lacks its field list.
    pub fn prepare_migration(
        &self,
        world: &World,
        decl: &ComponentDecl,
        to: NamedComponent,
    ) -> Result<Migration, String> {
        let name = &decl.name;
        let known = self.by_name.get(name).ok_or_else(|| format!("component {name} is not registered"))?;
        let no_fields = |which: &str| {
            format!(
                "component {name} changes layout, but its {which} version lists no fields, so its values cannot be \
                 carried over (a Rust mod lists them when built with a mod-api of ABI 1.2 or later)"
            )
        };
        let old_fields = known.fields.as_deref().ok_or_else(|| no_fields("old"))?;
        let new_fields = decl.fields.as_deref().ok_or_else(|| no_fields("new"))?;
        let from = known.current;
        let values = self
            .values_of(world, from)
            .map(|(entity, bytes)| {
                let value = values::read(&bytes, old_fields);
                let new = values::write(&value, new_fields, to.size as usize, &mut |e| e)
                    .map_err(|why| format!("component {name} of entity {entity}: {why}"))?;
                Ok((entity, new))
            })
            .collect::<Result<_, String>>()?;
        Ok(Migration { name: name.clone(), from, to, fields: decl.fields.clone(), values })
    }

    /// Replaces the old values of a prepared migration with the converted
    /// ones, and makes the new layout the name's current one.
    pub fn apply_migration(&mut self, world: &mut World, m: Migration) {
        for (entity, bytes) in &m.values {
            let mut e = world.entity_mut(*entity);
            e.remove_by_id(m.from.id);
            insert_bytes(&mut e, m.to, bytes);
        }
        if let Some(known) = self.by_name.get_mut(&m.name) {
            known.current = m.to;
            known.fields = m.fields;
        }
    }

    /// The fields of component `name`'s current layout, if they are known.
    pub fn fields(&self, name: &str) -> Option<&[FieldDecl]> {
        self.by_name.get(name)?.fields.as_deref()
    }

    /// Every registered name with its current component (for a save game,
    /// filter out those with an adapter: their bytes in the world are not
    /// their views).
    pub fn iter(&self) -> impl Iterator<Item = (&str, NamedComponent)> {
        self.by_name.iter().map(|(n, k)| (n.as_str(), k.current))
    }

    /// Every entity that has component `c`, with the component's bytes.
    pub fn values_of<'w>(&self, world: &'w World, c: NamedComponent) -> impl Iterator<Item = (Entity, Vec<u8>)> + 'w {
        let archetypes = world.archetypes().iter().filter(move |a| a.contains(c.id));
        archetypes.flat_map(|a| a.entities()).map(move |e| {
            let bytes = read_bytes_of(world, e.id(), c).expect("the archetype holds the component");
            (e.id(), bytes)
        })
    }

    /// The component named `name`, if any mod or the engine registered it.
    pub fn get(&self, name: &str) -> Option<NamedComponent> {
        self.by_name.get(name).map(|k| k.current)
    }

    /// Reads component `name` of `entity` as raw bytes (for engine code
    /// that inspects mod-defined components).
    pub fn read_bytes(&self, world: &World, entity: Entity, name: &str) -> Option<Vec<u8>> {
        read_bytes_of(world, entity, self.get(name)?)
    }

    /// Reads component `T` (a `mod_api` type, possibly defined by a mod) of `entity`.
    pub fn read<T: mod_api::Component>(&self, world: &World, entity: Entity) -> Option<T> {
        let bytes = self.read_bytes(world, entity, T::NAME)?;
        // SAFETY: `T` is plain data (`mod_api::Component`) of this many bytes.
        (bytes.len() == size_of::<T>()).then(|| unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const T) })
    }

    /// Inserts component `T` (a `mod_api` type, possibly defined by a mod)
    /// on `entity`, registering it by name if no mod has yet.
    pub fn insert<T: mod_api::Component>(&mut self, world: &mut World, entity: Entity, value: T) -> Result<(), String> {
        let decl = ComponentDecl {
            name: T::NAME.to_string(),
            size: size_of::<T>() as u32,
            align: align_of::<T>() as u32,
            fields: T::fields(),
        };
        let c = self.declare(world, &decl).map_err(|e| e.to_string())?;
        let mut e = world.get_entity_mut(entity).map_err(|e| e.to_string())?;
        // SAFETY: `T` is plain data with the layout registered under its name.
        let bytes = unsafe { std::slice::from_raw_parts(&value as *const T as *const u8, size_of::<T>()) };
        insert_bytes(&mut e, c, bytes);
        Ok(())
    }
}

/// The bytes of component `c` on `entity` as mods see them (for an
/// adapter, its view), if it has it.
fn read_bytes_of(world: &World, entity: Entity, c: NamedComponent) -> Option<Vec<u8>> {
    let ptr = world.get_entity(entity).ok()?.get_by_id(c.id).ok()?;
    if let Some(adapter) = c.adapter {
        let mut view = vec![0; c.size as usize];
        // SAFETY: `ptr` is one value of the adapter's component.
        unsafe { (adapter.to_views)(ptr.as_ptr(), 1, &mut view) };
        return Some(view);
    }
    // SAFETY: the component's storage holds `size` initialised bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr.as_ptr(), c.size as usize) }.to_vec())
}

/// How `decl` differs from the layout `c` (with `fields`), in words; `None`
/// if it is the same. Without field lists on both sides, only size and
/// alignment can be compared.
fn layout_change(c: NamedComponent, fields: Option<&[FieldDecl]>, decl: &ComponentDecl) -> Option<String> {
    if c.size != decl.size || c.align != decl.align {
        return Some(format!(
            "as {} bytes (align {}) but is registered as {} bytes (align {})",
            decl.size, decl.align, c.size, c.align
        ));
    }
    match (fields, &decl.fields) {
        (Some(a), Some(b)) if !values::same_layout(a, b) => {
            let names = |f: &[FieldDecl]| f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
            Some(format!("with fields ({}) but is registered with fields ({})", names(b), names(a)))
        }
        _ => None,
    }
}

/// A layout in words: `8 bytes (align 4) with fields (x, y)`.
fn describe_layout(size: u32, align: u32, fields: Option<&[FieldDecl]>) -> String {
    match fields {
        Some(f) => {
            let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
            format!("{size} bytes (align {align}) with fields ({})", names.join(", "))
        }
        None => format!("{size} bytes (align {align})"),
    }
}

/// Checks the field list of `decl`, if it has one, against its size: every
/// list the registry keeps or a save game supplies goes through here.
pub(crate) fn check_field_list(decl: &ComponentDecl) -> Result<(), String> {
    let Some(fields) = &decl.fields else { return Ok(()) };
    values::check_fields(fields, decl.size as usize).map_err(|e| format!("component {}: {e}", decl.name))
}

/// A new dynamic Bevy component for `decl`, after checking its size and
/// alignment (the caller checked its field list).
fn register_dynamic(world: &mut World, decl: &ComponentDecl) -> Result<NamedComponent, String> {
    let (name, size, align) = (&decl.name, decl.size, decl.align);
    if size > MAX_COMPONENT_SIZE {
        return Err(format!("component {name} is {size} bytes; the limit is {MAX_COMPONENT_SIZE}"));
    }
    let layout = Layout::from_size_align(size as usize, align as usize)
        .ok()
        .filter(|l| l.pad_to_align() == *l && align <= 16)
        .ok_or_else(|| format!("component {name} has an invalid layout: size {size}, align {align}"))?;
    // SAFETY: the data is plain bytes with no drop glue; the layout was checked.
    let descriptor = unsafe {
        ComponentDescriptor::new_with_layout(
            name.to_string(),
            StorageType::Table,
            layout,
            None,
            true,
            ComponentCloneBehavior::Default,
            None,
        )
    };
    let id = world.register_component_with_descriptor(descriptor);
    Ok(NamedComponent { id, size, align, adapter: None, read_only: false })
}

/// Inserts `bytes`, a value of component `c` as mods see it (for an
/// adapter, a checked view), on `e`.
pub(crate) fn insert_bytes(e: &mut EntityWorldMut, c: NamedComponent, bytes: &[u8]) {
    debug_assert_eq!(bytes.len(), c.size as usize);
    if let Some(adapter) = c.adapter {
        return (adapter.insert)(e, bytes);
    }
    // An aligned copy: the component may need up to 16-byte alignment.
    let mut aligned = vec![0u128; (bytes.len()).div_ceil(16).max(1)];
    bytemuck::cast_slice_mut::<u128, u8>(&mut aligned)[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: `bytes` is a value of the component's layout (plain data, no
    // drop glue), copied to a 16-aligned buffer that outlives the insert.
    unsafe {
        let ptr = bevy::ptr::OwningPtr::new(std::ptr::NonNull::new_unchecked(aligned.as_mut_ptr() as *mut u8));
        e.insert_by_id(c.id, ptr);
    }
}
