//! # engine: the host of WebAssembly mods, and the demo game
//!
//! - [`runtime`]: the modding runtime, a Bevy plugin ([`runtime::ModdingPlugin`])
//!   that loads every `.wasm` of a folder as an asset, runs each mod's
//!   systems once per frame over bulk component columns, and isolates failures.
//! - `game` (feature `game`, on by default): the demo arcade game's engine side: rendering of the ABI
//!   components, collisions, the HUD, headless runs with scripted input and
//!   the RON report.
//!
//! The ABI between the two sides is documented in `mod-api/ABI.md`.

#[cfg(feature = "game")]
pub mod game;
pub mod runtime;

pub use bevy;
pub use mod_api;
pub use wasmtime;
