//! The guest side of the ABI: what runs inside the mod.

mod app;
mod cell;
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
pub use query::{Added, Changed, Filters, Populated, Query, QueryData, QueryFilter, With, Without};
pub use resource::{
    Keyboard, ModResource, Res, ResMut, Resource, Rng, Time, fetch_game_resource, fetch_mod_resource,
    game_resource_param,
};
pub use state::{RawRon, SavedState};

/// The mod's allocator: rlsf's TLSF, about 1.7 KiB of code where Rust's
/// default (dlmalloc) is about 8 and talc 3 (issue 15). `#[mod_main]` sets it in the mod crate
/// (feature `allocator`, on by default; without it the mod keeps Rust's
/// default or sets its own `#[global_allocator]`).
#[cfg(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __global_allocator {
    () => {
        #[doc(hidden)]
        #[global_allocator]
        static __MOD_ALLOCATOR: $crate::__private::rlsf::GlobalTlsf<$crate::__private::AllocatorOptions> =
            $crate::__private::rlsf::GlobalTlsf::new();
    };
}

/// Without the `allocator` feature (or off wasm): Rust's default allocator.
#[cfg(not(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics"))))]
#[doc(hidden)]
#[macro_export]
macro_rules! __global_allocator {
    () => {};
}
