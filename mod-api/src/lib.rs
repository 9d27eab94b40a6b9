//! # mod-api: write Bevy systems that run as WebAssembly mods
//!
//! A mod is a Rust crate built for `wasm32-unknown-unknown`. It registers
//! systems into the game's schedules, and those systems take parameters the
//! way Bevy systems do: queries over components, commands, messages, time and
//! keyboard input. The host (the `engine` crate) runs each system once per
//! frame with one call, handing it the matching components as contiguous
//! columns and taking back only what it may write.
//!
//! ```
//! use mod_api::prelude::*;
//!
//! #[derive(Component, Clone, Copy)]
//! #[repr(C)]
//! struct Spin { speed: f32 }
//!
//! fn spin(time: Res<Time>, mut q: Query<(&mut Transform2d, &Spin)>) {
//!     q.for_each_mut(|(t, s)| t.rotation += s.speed * time.delta_secs());
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
//! - [`engine`]: components and messages the engine understands
//!   ([`Transform2d`], [`Velocity`], [`Sprite`], [`Label`], [`Collider`],
//!   [`Collision`], [`ScoreChanged`]).
//! - [`abi`]: the byte-level contract with the host, documented in `ABI.md`.
//!
//! ## Rules a mod type follows
//! Components, messages are plain data: `#[repr(C)]`, `Copy`, no pointers
//! (they are copied between the host and the mod as bytes). Types with the
//! same name (the Rust path) are the same component in every mod, so a mod
//! shares its types with other mods by publishing them in a crate.

pub mod abi;
pub mod engine;
mod guest;
pub mod manifest;
pub mod schema;

pub use engine::*;
pub use guest::*;
pub use mod_api_macros::{Component, Message, Resource, mod_main};
pub use schema::Schema;

/// Plain data stored on entities, shared by name with the engine and other mods.
///
/// # Safety
/// `Self` must be `#[repr(C)]` (or `transparent`) plain data: every byte
/// pattern the host copies back must be valid. Use `#[derive(Component)]`.
pub unsafe trait Component: Copy + 'static {
    /// The name the host registers the component under.
    const NAME: &'static str;
    /// The component's fields (ABI 1.2), so its values survive a layout
    /// change and are saved by name; `#[derive(Component)]` provides them.
    fn fields() -> Option<Vec<abi::FieldDecl>> {
        None
    }
}

/// Plain data sent between systems, the engine and other mods.
///
/// # Safety
/// As for [`Component`]. Use `#[derive(Message)]`.
pub unsafe trait Message: Copy + 'static {
    /// The name of the message channel.
    const NAME: &'static str;
}

/// Everything a mod usually needs.
pub mod prelude {
    pub use crate::engine::*;
    pub use crate::{
        App, Commands, Component, IntoSystemConfigs, Keyboard, Local, Message, MessageReader, MessageWriter, Query,
        Res, ResMut, Resource, Rng,
        ScheduleLabel::{FixedUpdate, Startup, Update},
        Time, With, Without, mod_main,
    };
    pub use crate::{debug, error, info, warn};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::guest::export::{alloc, init, restore_state, run, save_state};
    pub use crate::guest::{ModResource, fetch_mod_resource};
    pub use crate::schema::{default_bytes, field, struct_fields};
}
