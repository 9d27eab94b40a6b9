//! The modding runtime: Bevy plugins with wasmtime inside, for any game.
//!
//! Core concepts, in the spirit of wasmtime's own docs:
//! - one wasmtime [`Engine`](wasmtime::Engine) and one [`Linker`](wasmtime::Linker)
//!   per compiler, in [`WasmRuntime`]; a background thread ticks the
//!   engines' epoch every millisecond, which is how a call's deadline is
//!   enforced (counted in the thread's CPU time, so a loaded machine is not
//!   blamed on a mod);
//! - one [`ModAsset`] per `.wasm` file, compiled on Bevy's IO pool;
//! - one [`ModInstance`] (one `Store`) per running mod, created at a frame
//!   boundary (`PreUpdate`, before any mod system of the frame), never while
//!   mod code is on the stack;
//! - one exclusive driver system per schedule (`Update`, `FixedUpdate`) that
//!   runs every running mod's systems for that schedule, mods in load
//!   order, systems in their declared order;
//! - what mods see is the game's decision ([`expose`], [`ModApp`]).
//!
//! One Bevy plugin per concern, gathered in [`ModdingPlugins`]:
//! [`discovery`] (the mod folder as an asset source, manifests read and
//! resolved before compiling), [`lifecycle`] (starts, reloads, tier-up and
//! requests at the frame boundary), [`schedule`] (frame header, seeds and the
//! drivers) and [`save`] (save games). A mod that fails (load error, trap,
//! bad output) is marked [`ModStatus::Failed`], its [`ModError`] naming it and
//! the cause; the game and the other mods go on.

pub mod adapters;
mod asset;
mod cache;
mod components;
pub mod dev;
pub mod discovery;
mod error;
pub mod expose;
mod instance;
pub mod lifecycle;
mod messages;
mod registry;
mod resolve;
pub mod save;
pub mod schedule;
mod topo;
mod usage;
mod values;
mod wasm;

pub use asset::{ModAsset, compile};
pub(crate) use asset::{ModLoader, read_abi_version, read_manifest};
pub use cache::CodeCache;
pub use components::{ModComponents, NamedComponent};
pub use discovery::{WATCH_DEBOUNCE, api_version};
pub use error::{ModError, ModLoadError};
pub use expose::{ComponentAdapter, ExposeError, GameApi, ModAccess, ModApp, Refusal};
pub use instance::{ModInstance, ModLimits};
pub use messages::{ChannelId, ModMessages};
pub use registry::{ModControl, ModEntry, ModFailed, ModRegistry, ModReloadFailed, ModReloaded, ModStarted, ModStatus};
pub(crate) use resolve::{Candidate, Refused, Resolution, resolve};
pub use schedule::{KEYS, ModFrameInput, ModSystems};
pub use usage::{ModUsage, Usage};
pub use wasm::{Tier, WasmRuntime};

use bevy::app::PluginGroupBuilder;
use bevy::prelude::*;
use std::path::PathBuf;

/// What a game uses to make itself moddable: `use engine::runtime::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "sprite")]
    pub use super::adapters::SpriteAdapter;
    #[cfg(feature = "visibility")]
    pub use super::adapters::VisibilityAdapter;
    pub use super::adapters::{GlobalTransformAdapter, NameAdapter, TransformAdapter};
    pub use super::{
        CompileCache, ComponentAdapter, ModAccess, ModApp, ModControl, ModError, ModFailed, ModLimits, ModRegistry,
        ModReloadFailed, ModReloaded, ModStarted, ModStatus, ModSystems, ModdingPlugins,
    };
}

/// Name of the asset source that serves the mod folder.
pub const MOD_SOURCE: &str = "mods";

/// Runs WebAssembly mods from a folder: the runtime's plugins, one per
/// concern, configured together.
///
/// NOTE: add it *before* `DefaultPlugins`/`AssetPlugin`: it registers the
/// `mods://` asset source, which Bevy only accepts before the asset plugin.
///
/// ```no_run
/// use bevy::prelude::*;
/// use engine::runtime::prelude::*;
///
/// App::new()
///     .add_plugins(ModdingPlugins { mods_dir: "assets/mods".into(), ..default() })
///     .add_plugins(DefaultPlugins)
///     .run();
/// ```
pub struct ModdingPlugins {
    /// The folder whose `*.wasm` files are loaded, each as one mod.
    pub mods_dir: PathBuf,
    /// CPU, memory and quota limits for every mod.
    pub limits: ModLimits,
    /// Base of the per-call random seeds mods see (`Time::seed`).
    pub seed: u64,
    /// Where compiled mods are kept between runs.
    pub compile_cache: CompileCache,
}

/// Where compiled mods are kept between runs, so a game's second start
/// loads every mod it knows without compiling ([`CodeCache`]). The folder
/// can be deleted at any time; it is rebuilt as mods load.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CompileCache {
    /// In the mod folder's `.cache` folder.
    #[default]
    InModsDir,
    /// In this folder.
    At(PathBuf),
    /// Nowhere: every start compiles every mod.
    Off,
}

impl CompileCache {
    /// The cache for mods in `mods_dir`, if any.
    pub fn resolve(&self, mods_dir: &std::path::Path) -> Option<CodeCache> {
        match self {
            CompileCache::InModsDir => Some(CodeCache::new(mods_dir.join(".cache"))),
            CompileCache::At(dir) => Some(CodeCache::new(dir)),
            CompileCache::Off => None,
        }
    }
}

impl Default for ModdingPlugins {
    fn default() -> Self {
        ModdingPlugins {
            mods_dir: PathBuf::from("assets/mods"),
            limits: ModLimits::default(),
            seed: 0x5EED,
            compile_cache: CompileCache::default(),
        }
    }
}

impl PluginGroup for ModdingPlugins {
    fn build(self) -> PluginGroupBuilder {
        PluginGroupBuilder::start::<Self>()
            .add(discovery::ModDiscoveryPlugin {
                cache: self.compile_cache.resolve(&self.mods_dir),
                mods_dir: self.mods_dir,
                limits: self.limits,
            })
            .add(lifecycle::ModLifecyclePlugin)
            .add(schedule::ModSchedulePlugin { seed: self.seed })
            .add(save::SaveGamePlugin)
    }
}

/// Makes `world` ready for mod instances: the registries of components,
/// message channels and what the game exposes. The plugin calls it; so can
/// code that runs a [`ModInstance`] on a bare `World` (benchmarks, tools),
/// before exposing the game's types with the functions of [`expose`]. The
/// runtime itself registers no component or message: mods see what the
/// game exposes and what they declare themselves.
pub fn prepare_world(world: &mut World) {
    world.init_resource::<ModComponents>();
    world.init_resource::<ModMessages>();
    world.init_resource::<GameApi>();
    world.init_resource::<ModUsage>();
}
