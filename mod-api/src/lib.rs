//! # mod-api: write Bevy systems that run as WebAssembly mods
//!
//! A mod is a Rust crate built for `wasm32-unknown-unknown`. It registers
//! systems into the game's schedules, and those systems take parameters the
//! way Bevy systems do: queries over components, commands, messages, time and
//! keyboard input. The host (the `engine` crate's runtime, inside the game)
//! runs each system once per frame with one call, handing it the matching
//! components as contiguous columns and taking back only what it may write.
//!
//! This crate knows no particular game. A game shares its own components and
//! messages with its mods through a crate of its own (the demo's is
//! `rocks-api`), and Bevy's built-in components through the views in
//! [`builtin`].
//!
//! ```
//! use mod_api::{glam, prelude::*};
//!
//! #[derive(Component, Clone, Copy)]
//! #[repr(C)]
//! struct Spin { speed: f32 }
//!
//! fn spin(time: Res<Time>, mut q: Query<(&mut Transform, &Spin)>) {
//!     q.for_each_mut(|(t, s)| {
//!         let turn = Quat::from_rotation_z(s.speed * time.delta_secs());
//!         t.rotation = (glam::Quat::from(turn) * glam::Quat::from(t.rotation)).into();
//!     });
//! }
//!
//! // The mod's id and version come from its manifest, `mod.ron` in the
//! // crate root (see `mod-api/ABI.md`, "Manifest").
//! #[mod_main(manifest = "doc/spinner.ron")]
//! fn build(app: &mut App) {
//!     app.add_systems(Update, spin);
//! }
//! # fn main() {}
//! ```
//!
//! ## Where things are
//! - [`App`]: the entry point's registrar (`add_systems`, resources).
//! - [`manifest`]: the mod's manifest (`mod.ron`): id, version, dependencies.
//! - [`Query`], [`Commands`], [`MessageReader`], [`MessageWriter`], [`Res`],
//!   [`ResMut`], [`Local`]: system parameters.
//! - [`types`]: plain data every game shares ([`Entity`], [`Vec2`], [`Vec3`],
//!   [`Quat`], [`Color`], [`KeyCode`]).
//! - [`builtin`]: Bevy's own components as mods see them ([`Transform`],
//!   [`GlobalTransform`], [`Name`], [`Visibility`], [`builtin::Sprite`]).
//! - [`abi`]: the byte-level contract with the host, documented in `ABI.md`.
//!
//! ## Rules a mod type follows
//! Components, messages are plain data: `#[repr(C)]`, `Copy`, no pointers,
//! no padding, and no field that some bytes would make invalid (`bool`,
//! `char`, enums): they are copied between the host and the mod as bytes,
//! and the derives refuse anything else at compile time. Types with the same
//! name (the Rust path) are the same component in every mod, so a mod
//! shares its types with other mods, and a game with its mods, by
//! publishing them in a crate.

#![warn(missing_docs)]

pub mod abi;
pub mod builtin;
mod guest;
pub mod manifest;
pub mod schema;
pub mod types;

pub use builtin::{GlobalTransform, Name, Transform, Visibility};
pub use glam;
pub use guest::*;
/// Derives [`Component`](trait@Component) (see there for the rules).
///
/// ```
/// use mod_api::prelude::*;
///
/// // Version 2 of `mods/counter`'s `Tally`; version 1 was
/// // `Tally { frames: u32, scale: f32 }`.
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// pub struct Tally {
///     #[component(default = 9)]
///     pub bonus: u32,
///     pub scale: f32,
///     #[component(alias = "frames")]
///     pub ticks: u64,
/// }
/// # let fields = Tally::fields().unwrap();
/// # assert_eq!(fields[0].default, Some(vec![9, 0, 0, 0]));
/// # assert_eq!(fields[2].aliases, ["frames"]);
/// # // A default is any constant expression of the field's type.
/// # #[derive(Component, Clone, Copy)]
/// # #[repr(C)]
/// # struct Heading {
/// #     #[component(default = Vec2::new(1.0, -2.0))]
/// #     dir: Vec2,
/// # }
/// # let bytes: Vec<u8> = [1.0f32, -2.0].iter().flat_map(|f| f.to_le_bytes()).collect();
/// # assert_eq!(Heading::fields().unwrap()[0].default, Some(bytes));
/// ```
///
/// When version 2 swaps in, each `Tally` keeps `scale`, takes `ticks` from
/// the old `frames` (widened to `u64`) and starts `bonus` at 9.
///
pub use mod_api_macros::Component;
/// Derives [`GameResource`] for a game's plain-data resource.
///
pub use mod_api_macros::GameResource;
/// Derives [`Message`](trait@Message) (see there for an example).
///
pub use mod_api_macros::Message;
/// Derives [`Resource`](trait@Resource) (see there for an example).
///
pub use mod_api_macros::Resource;
/// The mod's entry point: the function that registers its systems and
/// resources, called once per instance when the host starts the mod.
///
/// ```
/// use mod_api::prelude::*;
///
/// fn hello() {
///     info!("hello");
/// }
///
/// // `#[mod_main]` without an argument reads `mod.ron` in the crate root.
/// #[mod_main(manifest = "doc/spinner.ron")]
/// fn build(app: &mut App) {
///     app.add_systems(Startup, hello);
/// }
/// # fn main() {}
/// ```
///
/// The manifest's `id` and `version` become the mod's name and version;
/// the build fails, naming the file, if it does not parse or lacks them.
///
pub use mod_api_macros::mod_main;
pub use schema::Schema;
pub use types::*;

/// Plain data stored on entities, shared by name with the game and other mods.
///
/// Derive it: the struct must be `#[repr(C)]` (or `transparent`), `Copy`,
/// without padding, and its fields numbers, arrays, [`Entity`], [`Vec2`],
/// [`Vec3`], [`Quat`], [`Color`] or other components (see [`Schema`]). Its
/// name is its Rust path (`my_mod::Spin` below), so mods share a component
/// by depending on the crate that defines it (as the demo's mods share
/// `arcade-types`), and a game shares its components with its mods the
/// same way (the demo's `rocks-api`): built for the game (mod-api's `host`
/// feature), the derive also makes the type a Bevy `Component`.
///
/// ```
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// pub struct Spin {
///     /// Radians per second.
///     pub speed: f32,
/// }
///
/// /// A marker: no fields.
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// pub struct Wrap;
///
/// assert!(Spin::NAME.ends_with("::Spin"));
/// assert_eq!(Spin::fields().unwrap()[0].name, "speed");
/// ```
///
/// A field that some bytes would make invalid, or padding, is a compile
/// error (any mod may write any bytes into a component):
///
/// ```compile_fail
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Lamp {
///     on: bool, // `bool` is not plain data a mod may share: use a u8
/// }
/// ```
///
/// ```compile_fail
/// use mod_api::prelude::*;
///
/// #[derive(Component, Clone, Copy)]
/// #[repr(C)]
/// struct Gappy {
///     small: u8, // three bytes of padding follow
///     big: u32,
/// }
/// ```
///
/// When a new version of the mod changes the struct, the host converts
/// every value by field name as the new version swaps in; the field
/// attributes `#[component(alias = "old_name")]` and
/// `#[component(default = EXPR)]` say how (see the
/// [derive](derive@Component)'s example).
///
/// # Safety
/// `Self` must be `#[repr(C)]` (or `transparent`) plain data without
/// padding: every byte pattern the host copies back must be valid. Use
/// `#[derive(Component)]`.
pub unsafe trait Component: Copy + 'static {
    /// The name the host registers the component under.
    const NAME: &'static str;
    /// The component's fields (ABI 1.2), so its values survive a layout
    /// change and are saved by name; `#[derive(Component)]` provides them.
    const FIELDS: Option<&'static [schema::Field]> = None;
    /// [`FIELDS`](Self::FIELDS) as the ABI declares them.
    fn fields() -> Option<Vec<abi::FieldDecl>> {
        Self::FIELDS.map(|fields| fields.iter().map(schema::Field::decl).collect())
    }
}

/// Plain data sent between systems, the game and other mods.
///
/// Derive it, with the same rules as [`Component`](trait@Component): a
/// `#[repr(C)]`, `Copy` struct of plain data, named by its Rust path. Read
/// messages with [`MessageReader`], send them with [`MessageWriter`].
///
/// ```
/// use mod_api::prelude::*;
///
/// /// A rock was shot; split it.
/// #[derive(Message, Clone, Copy)]
/// #[repr(C)]
/// pub struct RockDestroyed {
///     pub position: Vec2,
///     pub size: u32,
/// }
/// # assert!(RockDestroyed::NAME.ends_with("::RockDestroyed"));
/// ```
///
/// # Safety
/// As for [`Component`]. Use `#[derive(Message)]`.
pub unsafe trait Message: Copy + 'static {
    /// The name of the message channel.
    const NAME: &'static str;
}

/// A function the game exposes to its mods (ABI 1.5): declare it with
/// [`game_functions!`] in the crate the game shares with its mods, call it
/// from a mod system through a [`GameFn`] parameter, and implement it in the
/// game as an ordinary Bevy system taking `In<Self::In>` and returning
/// `Self::Out` (or `Result<Self::Out, E>`).
///
/// # Safety
/// `In` and `Out` are plain data (`Schema`): the host and the mod exchange
/// them as bytes. Use [`game_functions!`].
pub unsafe trait GameFunction: 'static {
    /// The name the game exposes it under.
    const NAME: &'static str;
    /// Its argument.
    type In: Schema;
    /// What it returns.
    type Out: Schema;
}

/// A resource the game shares with its mods by name (its score, a
/// configuration): plain data, derived with `#[derive(GameResource)]` in the
/// crate the game shares with its mods. Mods read it with `Res<T>` and, if
/// the game exposes it read-write, change it with `ResMut<T>`: the host
/// copies it into the frame of each system that asks, and back after a
/// `ResMut` system.
///
/// ```
/// use mod_api::prelude::*;
///
/// /// The game's difficulty (in the crate it shares with its mods).
/// #[derive(GameResource, Clone, Copy)]
/// #[repr(C)]
/// pub struct Difficulty {
///     pub speed: f32,
///     pub lives: u32,
/// }
///
/// fn harder(mut difficulty: ResMut<Difficulty>) {
///     difficulty.speed *= 1.01;
/// }
/// # assert!(<Difficulty as GameResource>::NAME.ends_with("::Difficulty"));
/// ```
///
/// # Safety
/// As for [`Component`]. Use `#[derive(GameResource)]`.
pub unsafe trait GameResource: Copy + 'static {
    /// The name the game exposes it under.
    const NAME: &'static str;
}

/// Everything a mod usually needs: `use mod_api::prelude::*;`.
pub mod prelude {
    pub use crate::builtin::{GlobalTransform, Name, Transform, Visibility};
    pub use crate::types::*;
    pub use crate::{
        Added, App, Changed, Commands, Component, GameFn, GameFunction, GameResource, IntoSystemConfigs, Keyboard,
        Local, Message, MessageReader, MessageWriter, Populated, Query, Res, ResMut, Resource, Rng,
        ScheduleLabel::{FixedUpdate, Startup, Update},
        Time, With, Without, mod_main,
    };
    pub use crate::{debug, error, info, warn};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::guest::export::{alloc, init, restore_state, run, save_state};
    pub use crate::guest::{ModResource, fetch_game_resource, fetch_mod_resource, game_resource_param};
    pub use crate::schema::{Field, Shape, bytes_of, size_of_field};
    #[cfg(feature = "host")]
    pub use bevy::ecs as bevy_ecs;
    #[cfg(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics")))]
    pub use rlsf;

    /// The mod allocator's settings (see `__global_allocator!`): no
    /// in-place reallocation, which would add about 0.8 KiB to every mod (a
    /// growing `Vec` doubles, so copies stay rare); pools merged, because
    /// mods allocate buffers larger than a 64 KiB page.
    #[cfg(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics")))]
    pub struct AllocatorOptions;
    #[cfg(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics")))]
    impl rlsf::GlobalTlsfOptions for AllocatorOptions {
        const ENABLE_REALLOCATION: bool = false;
        const COALESCE_POOLS: bool = true;
    }
}

/// The Bevy side of a derived component: on the game's side (mod-api's
/// `host` feature) the type is also a Bevy component, stored in tables;
/// in a mod, nothing.
#[cfg(feature = "host")]
#[doc(hidden)]
#[macro_export]
macro_rules! __host_component {
    ($ty:ident) => {
        impl $crate::__private::bevy_ecs::component::Component for $ty {
            const STORAGE_TYPE: $crate::__private::bevy_ecs::component::StorageType =
                $crate::__private::bevy_ecs::component::StorageType::Table;
            type Mutability = $crate::__private::bevy_ecs::component::Mutable;
        }
    };
}
#[cfg(not(feature = "host"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __host_component {
    ($ty:ident) => {};
}

/// The Bevy side of a derived game resource: a Bevy `Resource` on the
/// game's side.
#[cfg(feature = "host")]
#[doc(hidden)]
#[macro_export]
macro_rules! __host_resource {
    // NOTE: what Bevy 0.19's `#[derive(Resource)]` generates: a resource is
    // a sparse-set component that requires `IsResource`.
    ($ty:ident) => {
        impl $crate::__private::bevy_ecs::component::Component for $ty {
            const STORAGE_TYPE: $crate::__private::bevy_ecs::component::StorageType =
                $crate::__private::bevy_ecs::component::StorageType::SparseSet;
            type Mutability = $crate::__private::bevy_ecs::component::Mutable;
            fn register_required_components(
                _: $crate::__private::bevy_ecs::component::ComponentId,
                required: &mut $crate::__private::bevy_ecs::component::RequiredComponentsRegistrator,
            ) {
                let id = match required.components_registrator().component_id::<$ty>() {
                    ::core::option::Option::Some(id) => id,
                    ::core::option::Option::None => required.components_registrator().register_component::<$ty>(),
                };
                required.register_required::<$crate::__private::bevy_ecs::resource::IsResource>(move || {
                    $crate::__private::bevy_ecs::resource::IsResource::new(id)
                });
            }
        }
        impl $crate::__private::bevy_ecs::resource::Resource for $ty {}
    };
}
#[cfg(not(feature = "host"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __host_resource {
    ($ty:ident) => {};
}

/// The Bevy side of a derived message: a Bevy `Message` on the game's side.
#[cfg(feature = "host")]
#[doc(hidden)]
#[macro_export]
macro_rules! __host_message {
    ($ty:ident) => {
        impl $crate::__private::bevy_ecs::message::Message for $ty {}
    };
}
#[cfg(not(feature = "host"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __host_message {
    ($ty:ident) => {};
}
