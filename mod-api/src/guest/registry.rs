//! The mod's registry: local ids of the component and message types it uses,
//! its systems, and its resources. One per mod instance (wasm is single-threaded).

use crate::abi::{ComponentDecl, FunctionDecl, MessageDecl, ResourceDecl, SystemDecl};
use crate::{Component, GameFunction, GameResource, Message};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;

use super::param::ErasedSystem;

#[derive(Default)]
pub(crate) struct Registry {
    pub components: Vec<ComponentDecl>,
    component_ids: HashMap<&'static str, u32>,
    /// How many of `components` the host knows (from the descriptor or a
    /// DECLARE_COMPONENT command already sent).
    pub components_known_to_host: u32,
    pub messages: Vec<MessageDecl>,
    message_ids: HashMap<&'static str, u32>,
    pub functions: Vec<FunctionDecl>,
    function_ids: HashMap<&'static str, u32>,
    pub game_resources: Vec<ResourceDecl>,
    game_resource_ids: HashMap<&'static str, u32>,
    pub systems: Vec<(SystemDecl, Box<dyn ErasedSystem>)>,
    pub resources: HashMap<TypeId, Box<dyn Any>>,
    /// Resources that survive a reload (see `state.rs`).
    pub(crate) saved: Vec<super::state::SavedResource>,
    /// Runs on the old state before it is restored (see `App::on_migrate`).
    pub(crate) migrate: Option<super::state::MigrateFn>,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

pub(crate) fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    REGISTRY.with(|r| f(&mut r.borrow_mut()))
}

/// Local id of component `T`, registering it on first use.
pub(crate) fn component_id<T: Component>() -> u32 {
    with(|r| {
        if let Some(&id) = r.component_ids.get(T::NAME) {
            return id;
        }
        let id = r.components.len() as u32;
        r.components.push(ComponentDecl {
            name: T::NAME.to_string(),
            size: size_of::<T>() as u32,
            align: align_of::<T>() as u32,
            fields: T::fields(),
        });
        r.component_ids.insert(T::NAME, id);
        id
    })
}

/// Local id of message `T`, registering it on first use.
pub(crate) fn message_id<T: Message>() -> u32 {
    with(|r| {
        if let Some(&id) = r.message_ids.get(T::NAME) {
            return id;
        }
        let id = r.messages.len() as u32;
        r.messages.push(MessageDecl {
            name: T::NAME.to_string(),
            size: size_of::<T>() as u32,
            align: align_of::<T>() as u32,
        });
        r.message_ids.insert(T::NAME, id);
        id
    })
}

/// Local id of game function `F`, registering it on first use.
pub(crate) fn function_id<F: GameFunction>() -> u32 {
    with(|r| {
        if let Some(&id) = r.function_ids.get(F::NAME) {
            return id;
        }
        let id = r.functions.len() as u32;
        r.functions.push(FunctionDecl {
            name: F::NAME.to_string(),
            input_size: size_of::<F::In>() as u32,
            output_size: size_of::<F::Out>() as u32,
        });
        r.function_ids.insert(F::NAME, id);
        id
    })
}

/// Local id of game resource `T`, registering it on first use.
pub(crate) fn resource_id<T: GameResource>() -> u32 {
    with(|r| {
        if let Some(&id) = r.game_resource_ids.get(T::NAME) {
            return id;
        }
        let id = r.game_resources.len() as u32;
        r.game_resources.push(ResourceDecl {
            name: T::NAME.to_string(),
            size: size_of::<T>() as u32,
            align: align_of::<T>() as u32,
        });
        r.game_resource_ids.insert(T::NAME, id);
        id
    })
}

/// A pointer to resource `T`, which lives as long as the mod instance.
/// Resources are never removed, so the pointer stays valid.
pub(crate) fn resource_ptr<T: 'static>() -> Option<*mut T> {
    with(|r| r.resources.get_mut(&TypeId::of::<T>()).and_then(|b| b.downcast_mut::<T>()).map(|t| t as *mut T))
}
