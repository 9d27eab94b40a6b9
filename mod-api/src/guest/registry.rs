//! The mod's registry: local ids of the component and message types it uses,
//! its systems, and its resources. One per mod instance (wasm is single-threaded).

use crate::abi::{FunctionDecl, MessageDecl, ResourceDecl, SystemDecl};
use crate::schema::Field;
use crate::{Component, GameFunction, GameResource, Message};
use std::any::{Any, TypeId};

use super::param::ErasedSystem;

/// NOTE: lookups are linear scans of short lists, not hash maps: a mod
/// declares a handful of types, and a hash map (with its hasher) would add
/// kilobytes to every mod (issue 15). Names are compared by address first:
/// the same type's `NAME` is the same `&'static str`.
/// A component the mod uses, as it declares it to the host: the constant
/// parts of a [`ComponentDecl`](crate::abi::ComponentDecl), written out by
/// `ron_out` with no declaration built in between.
pub(crate) struct DeclaredComponent {
    pub name: &'static str,
    pub size: u32,
    pub align: u32,
    pub fields: Option<&'static [Field]>,
}

pub(crate) struct Registry {
    /// Indexed by local id.
    pub components: Vec<DeclaredComponent>,
    /// How many of `components` the host knows (from the descriptor or a
    /// DECLARE_COMPONENT command already sent).
    pub components_known_to_host: u32,
    pub messages: Vec<MessageDecl>,
    message_ids: Vec<(&'static str, u32)>,
    pub functions: Vec<FunctionDecl>,
    function_ids: Vec<(&'static str, u32)>,
    pub game_resources: Vec<ResourceDecl>,
    game_resource_ids: Vec<(&'static str, u32)>,
    pub systems: Vec<(SystemDecl, Box<dyn ErasedSystem>)>,
    resources: Vec<(TypeId, Box<dyn Any>)>,
    /// Resources that survive a reload (see `state.rs`).
    pub(crate) saved: Vec<super::state::SavedResource>,
    /// Runs on the old state before it is restored (see `App::on_migrate`).
    pub(crate) migrate: Option<super::state::MigrateFn>,
    /// How state is saved and restored, once a resource is saved: the only
    /// path from the exports to serde and RON (see `export::save_state`).
    pub(crate) state_io: Option<super::state::StateIo>,
}

impl Registry {
    const fn new() -> Self {
        Registry {
            components: Vec::new(),
            components_known_to_host: 0,
            messages: Vec::new(),
            message_ids: Vec::new(),
            functions: Vec::new(),
            function_ids: Vec::new(),
            game_resources: Vec::new(),
            game_resource_ids: Vec::new(),
            systems: Vec::new(),
            resources: Vec::new(),
            saved: Vec::new(),
            migrate: None,
            state_io: None,
        }
    }

    /// Adds (or replaces) resource `T`.
    pub fn insert_resource<T: 'static>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        match self.resources.iter_mut().find(|(t, _)| *t == id) {
            Some((_, slot)) => *slot = Box::new(value),
            None => self.resources.push((id, Box::new(value))),
        }
    }
}

/// The local id of `name` in `ids`; on first use, the next id, with the
/// declaration `decl` makes added to `decls`.
fn local_id<D>(
    ids: &mut Vec<(&'static str, u32)>,
    decls: &mut Vec<D>,
    name: &'static str,
    decl: impl FnOnce() -> D,
) -> u32 {
    if let Some(&(_, id)) = ids.iter().find(|(n, _)| core::ptr::eq(*n, name) || *n == name) {
        return id;
    }
    let id = decls.len() as u32;
    decls.push(decl());
    ids.push((name, id));
    id
}

thread_local! {
    // A `const` initializer: no lazy-initialization code in the mod.
    static REGISTRY: super::cell::Slot<Registry> = const { super::cell::Slot::new(Registry::new()) };
}

pub(crate) fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    REGISTRY.with(|r| r.with(f))
}

/// Local id of component `T`, registering it on first use.
pub(crate) fn component_id<T: Component>() -> u32 {
    component_id_of(DeclaredComponent {
        name: T::NAME,
        size: size_of::<T>() as u32,
        align: align_of::<T>() as u32,
        fields: T::FIELDS,
    })
}

/// `component_id`'s work, not generic: one copy for every component type.
#[inline(never)]
fn component_id_of(c: DeclaredComponent) -> u32 {
    with(|r| {
        let known = r.components.iter().position(|k| core::ptr::eq(k.name, c.name) || k.name == c.name);
        known.unwrap_or_else(|| {
            r.components.push(c);
            r.components.len() - 1
        }) as u32
    })
}

/// Local id of message `T`, registering it on first use.
pub(crate) fn message_id<T: Message>() -> u32 {
    with(|r| {
        local_id(&mut r.message_ids, &mut r.messages, T::NAME, || MessageDecl {
            name: T::NAME.to_string(),
            size: size_of::<T>() as u32,
            align: align_of::<T>() as u32,
        })
    })
}

/// Local id of game function `F`, registering it on first use.
pub(crate) fn function_id<F: GameFunction>() -> u32 {
    with(|r| {
        local_id(&mut r.function_ids, &mut r.functions, F::NAME, || FunctionDecl {
            name: F::NAME.to_string(),
            input_size: size_of::<F::In>() as u32,
            output_size: size_of::<F::Out>() as u32,
        })
    })
}

/// Local id of game resource `T`, registering it on first use.
pub(crate) fn resource_id<T: GameResource>() -> u32 {
    with(|r| {
        local_id(&mut r.game_resource_ids, &mut r.game_resources, T::NAME, || ResourceDecl {
            name: T::NAME.to_string(),
            size: size_of::<T>() as u32,
            align: align_of::<T>() as u32,
        })
    })
}

/// A pointer to resource `T`, which lives as long as the mod instance.
/// Resources are never removed, so the pointer stays valid.
pub(crate) fn resource_ptr<T: 'static>() -> Option<*mut T> {
    let id = TypeId::of::<T>();
    with(|r| {
        let (_, b) = r.resources.iter_mut().find(|(t, _)| *t == id)?;
        b.downcast_mut::<T>().map(|t| t as *mut T)
    })
}
