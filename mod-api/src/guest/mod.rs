//! The guest side of the ABI: what runs inside the mod.

mod app;
mod commands;
pub(crate) mod export;
mod function;
mod log;
mod message;
mod param;
mod query;
mod registry;
mod resource;
mod ron_out;
mod ron_serde;
pub(crate) mod state;
mod sys;

pub use crate::abi::ScheduleLabel;
pub use app::{App, IntoSystemConfigs, SystemConfigs};
pub use commands::{Bundle, Commands, EntityCommands};
pub use function::GameFn;
pub use log::{__log_fmt, log};
pub use message::{MessageReader, MessageWriter};
pub use param::{FrameCtx, IntoModSystem, Local, SystemParam};
pub use query::{Query, QueryData, QueryFilter, With, Without};
pub use resource::{
    Keyboard, ModResource, Res, ResMut, Resource, Rng, Time, fetch_game_resource, fetch_mod_resource,
    game_resource_param,
};
pub use state::{RawRon, SavedState};

/// The mod's allocator: talc, about 3 KiB of code where Rust's default
/// (dlmalloc) is about 8 (issue 15). Feature `allocator` (default).
#[cfg(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
