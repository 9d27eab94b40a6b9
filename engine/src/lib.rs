//! # engine: the modding runtime
//!
//! [`runtime`]: Bevy plugins ([`runtime::ModdingPlugins`]) that load every
//! `.wasm` of a folder as a mod, run each mod's systems once per frame over
//! bulk component columns, hot-reload them between frames and isolate their
//! failures; the game decides what its mods see ([`runtime::ModApp`],
//! `docs/HOSTING.md`). It knows no particular game: the demo game, Rocks,
//! is the crate `rocks` (`engine/rocks`), and the second example,
//! Fireflies, the crate `fireflies` (`engine/fireflies`), both on this
//! crate's public API.
//!
//! The ABI between the runtime and mods is documented in `mod-api/ABI.md`.

pub mod runtime;

pub use bevy;
pub use mod_api;
pub use wasmtime;
