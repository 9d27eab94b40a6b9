//! Every mod of the mod folder and where each is in its life
//! ([`ModRegistry`], [`ModEntry`], [`ModStatus`]), what a player or game
//! code asks of a mod ([`ModControl`]), and the messages the runtime sends
//! when a mod starts, fails or is reloaded.

use super::discovery::implicit_manifest;
use super::{Candidate, ModAsset, ModError, ModInstance, ModLoadError, WasmRuntime};
use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task};
use mod_api::manifest::Manifest;
use serde::{Deserialize, Serialize};

/// Where a mod is in its life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModStatus {
    /// Compiling.
    Loading,
    /// Instantiated; its systems run every frame.
    Running,
    /// Stopped; the error names the mod and the cause.
    Failed(String),
    /// Turned off by the player ([`ModControl::Disable`]): its systems do not
    /// run; its instance, state and entities are kept for
    /// [`ModControl::Enable`].
    Disabled,
}

/// What a player (the mod manager) or game code asks of a mod, by file or
/// name; served at the next frame boundary.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum ModControl {
    /// A disabled mod runs again, from where it stopped.
    Enable(String),
    /// A running mod stops running, keeping its state.
    Disable(String),
    /// Reads the mod's file again and swaps the new version in, as when
    /// the file changes.
    Reload(String),
}

/// One mod file and what became of it.
pub struct ModEntry {
    /// The file name within the mod folder.
    pub file: String,
    /// Name and version from the mod's descriptor (empty until it starts).
    pub name: String,
    pub version: String,
    pub status: ModStatus,
    /// Times a changed file replaced the running version.
    pub reloads: u32,
    /// The last reload that failed (the previous version kept running).
    pub last_error: Option<String>,
    pub(crate) handle: Option<Handle<ModAsset>>,
    pub(crate) instance: Option<ModInstance>,
    /// The compiled file (its [`ModAsset::serial`]) last started or swapped
    /// in, successfully or not: a newer one is a new version to try.
    pub(crate) tried: Option<u64>,
    /// The [`ModAsset::digest`] of the running version: a compile of the
    /// same bytes (the file written again unchanged) is not swapped in.
    pub(crate) running_digest: Option<u64>,
    /// A [`ModControl::Reload`] asked to swap the file in even if its bytes
    /// are those of the running version.
    pub(crate) forced_reload: bool,
    /// The mod ran once: a reload must not run its `Startup` systems again.
    pub(crate) started: bool,
    /// The optimizing compile of the running baseline code, when one runs.
    pub(crate) tier_up: Option<Task<Result<wasmtime::Module, ModLoadError>>>,
    /// The manifest the mod was resolved with (that of the running version).
    pub manifest: Option<Manifest>,
    /// Time its systems took per frame, smoothed over about 30 frames.
    pub time_per_frame: std::time::Duration,
    /// Time its systems took so far in this frame.
    pub(crate) time_this_frame: std::time::Duration,
}

impl ModEntry {
    /// Records that a new version could not replace the running one: logs it,
    /// keeps it as `last_error`, and returns the message to send.
    pub(crate) fn reload_failed(&mut self, cause: impl std::fmt::Display) -> ModReloadFailed {
        let error = if matches!(self.status, ModStatus::Failed(_)) {
            format!("reload failed, the mod stays stopped: {cause}")
        } else {
            format!("reload failed, the previous version keeps running: {cause}")
        };
        let _span = info_span!("mod", file = %self.file).entered();
        error!("mod {}: {error}", self.file);
        self.last_error = Some(error.clone());
        ModReloadFailed { file: self.file.clone(), error }
    }

    /// The running instance, if any.
    pub fn instance(&self) -> Option<&ModInstance> {
        self.instance.as_ref()
    }

    /// The mod's saved state as its `mod_save_state` writes it (RON), as a
    /// reload or a save game would take it: `Ok(None)` if the mod keeps no
    /// state or has no instance (it failed to start). Calls into the mod:
    /// only between frames, never from a mod's system.
    pub fn saved_state(&mut self) -> Result<Option<String>, ModError> {
        match self.instance.as_mut() {
            Some(instance) => instance.save_state(),
            None => Ok(None),
        }
    }

    /// This mod as resolution sees it: its running version's manifest, or
    /// the implicit one of a file without.
    pub(crate) fn candidate(&self) -> Candidate {
        let manifest = self.manifest.clone().unwrap_or_else(|| implicit_manifest(&self.file));
        Candidate { file: self.file.clone(), manifest: Ok(manifest) }
    }

    /// Makes `instance`, made from `asset`, the running version: its manifest
    /// becomes the mod's, and its optimized code starts compiling.
    pub(crate) fn run_version(&mut self, instance: ModInstance, runtime: &WasmRuntime, asset: &ModAsset) {
        self.instance = Some(instance);
        self.running_digest = Some(asset.digest);
        if asset.manifest.is_some() {
            self.manifest = asset.manifest.clone();
        }
        self.start_tier_up(runtime, asset);
    }

    /// Starts compiling `asset`'s optimized code in the background, if it is
    /// baseline code; replaces (and so cancels) any earlier such compile.
    pub(crate) fn start_tier_up(&mut self, runtime: &WasmRuntime, asset: &ModAsset) {
        self.tier_up = asset.tier_up.is_some().then(|| {
            let (runtime, asset) = (runtime.clone(), asset.clone());
            AsyncComputeTaskPool::get().spawn(async move { runtime.tier_up(&asset).expect("baseline code has bytes") })
        });
    }
}

/// Every mod of the mod folder, in load order (file name order).
#[derive(Resource, Default)]
pub struct ModRegistry {
    pub mods: Vec<ModEntry>,
    /// Set once the folder was read.
    pub discovered: bool,
    /// Set once the first set of mods was started together.
    pub(crate) started_once: bool,
}

impl ModRegistry {
    /// True once every mod has started or failed.
    pub fn settled(&self) -> bool {
        self.discovered && self.mods.iter().all(|m| m.status != ModStatus::Loading)
    }
    /// The mod whose descriptor name or file is `name`.
    pub fn get(&self, name: &str) -> Option<&ModEntry> {
        self.mods.iter().find(|m| m.name == name || m.file == name)
    }
}

/// Sent when a mod starts running.
#[derive(Message, Debug, Clone)]
pub struct ModStarted {
    pub file: String,
    pub name: String,
}

/// Sent when a mod fails to load or stops with an error.
#[derive(Message, Debug, Clone)]
pub struct ModFailed {
    pub file: String,
    pub error: String,
}

/// Sent when a changed mod file replaced the running version.
#[derive(Message, Debug, Clone)]
pub struct ModReloaded {
    pub file: String,
    pub reloads: u32,
}

/// Sent when a changed mod file could not replace the running version; the
/// previous version keeps running.
#[derive(Message, Debug, Clone)]
pub struct ModReloadFailed {
    pub file: String,
    pub error: String,
}
