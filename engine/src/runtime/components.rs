//! Components by name: the engine's own ABI components (static Bevy
//! components with the layouts `mod_api` defines) and the components mods
//! declare at run time (dynamic Bevy components). Both are real components,
//! visible to every query, mod or engine.

use bevy::ecs::component::{ComponentCloneBehavior, ComponentDescriptor, ComponentId, StorageType};
use bevy::prelude::*;
use std::alloc::Layout;
use std::collections::HashMap;

/// Largest component a mod may declare, in bytes.
pub const MAX_COMPONENT_SIZE: u32 = 64 * 1024;

/// A component known by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedComponent {
    pub id: ComponentId,
    pub size: u32,
    pub align: u32,
}

/// Name → component, for everything mods can touch.
#[derive(Resource, Default)]
pub struct ModComponents {
    by_name: HashMap<String, NamedComponent>,
}

impl ModComponents {
    /// Registers an engine component under its ABI name.
    pub fn register_static<T: Component + mod_api::Component>(&mut self, world: &mut World) {
        let id = world.register_component::<T>();
        let c = NamedComponent { id, size: size_of::<T>() as u32, align: align_of::<T>() as u32 };
        self.by_name.insert(T::NAME.to_string(), c);
    }

    /// The component named `name`, registering a dynamic component on first
    /// use. Fails if the layout is invalid or differs from the existing one.
    pub fn declare(&mut self, world: &mut World, name: &str, size: u32, align: u32) -> Result<NamedComponent, String> {
        if let Some(&c) = self.by_name.get(name) {
            if c.size != size || c.align != align {
                return Err(format!(
                    "component {name} is declared as {size} bytes (align {align}) but is already registered as {} bytes (align {})",
                    c.size, c.align
                ));
            }
            return Ok(c);
        }
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
        let c = NamedComponent { id, size, align };
        self.by_name.insert(name.to_string(), c);
        Ok(c)
    }

    /// The component named `name`, if any mod or the engine registered it.
    pub fn get(&self, name: &str) -> Option<NamedComponent> {
        self.by_name.get(name).copied()
    }

    /// Reads component `name` of `entity` as raw bytes (for engine code
    /// that inspects mod-defined components).
    pub fn read_bytes(&self, world: &World, entity: Entity, name: &str) -> Option<Vec<u8>> {
        let c = self.get(name)?;
        let ptr = world.get_entity(entity).ok()?.get_by_id(c.id).ok()?;
        // SAFETY: the component's storage holds `size` initialised bytes.
        Some(unsafe { std::slice::from_raw_parts(ptr.as_ptr(), c.size as usize) }.to_vec())
    }

    /// Reads component `T` (a `mod_api` type, possibly defined by a mod) of `entity`.
    pub fn read<T: mod_api::Component + bytemuck::Pod>(&self, world: &World, entity: Entity) -> Option<T> {
        let bytes = self.read_bytes(world, entity, T::NAME)?;
        (bytes.len() == size_of::<T>()).then(|| bytemuck::pod_read_unaligned(&bytes))
    }

    /// Inserts component `T` (a `mod_api` type, possibly defined by a mod)
    /// on `entity`, registering it by name if no mod has yet.
    pub fn insert<T: mod_api::Component>(&mut self, world: &mut World, entity: Entity, value: T) -> Result<(), String> {
        let c = self.declare(world, T::NAME, size_of::<T>() as u32, align_of::<T>() as u32)?;
        let mut e = world.get_entity_mut(entity).map_err(|e| e.to_string())?;
        let mut value = std::mem::MaybeUninit::new(value);
        // SAFETY: `T` is plain data with the layout registered under its name;
        // the value is moved into the world and not used again here.
        unsafe {
            let ptr = bevy::ptr::OwningPtr::new(std::ptr::NonNull::new_unchecked(value.as_mut_ptr() as *mut u8));
            e.insert_by_id(c.id, ptr);
        }
        Ok(())
    }
}
