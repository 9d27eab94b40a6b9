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

/// Where a mod is in its life, as players and reports see it
/// ([`ModEntry::status`]).
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

/// Where a mod is in its life, and what it holds there: the one place its
/// lifecycle lives. Served at frame boundaries by [`lifecycle`](super::lifecycle):
///
/// ```text
///            compiled                    Disable
/// Loading ────────────▶ Running ◀──────────────▶ Disabled
///    │ fails              │  ▲ a reload              │
///    ▼                    │  │ brings the            │ (reloads and tier-up
/// Failed ◀── trap ────────┘  │ new layout            │  swap its code too)
/// (started: false)        ▼  │                       │
///    │ new file        Waiting (keeps its instance)  │
///    ▼                                               │
/// Loading          Failed (started: true) ◀─ a reload may restart it
/// ```
pub(crate) enum Life {
    /// Its file is compiling, or compiled and waiting for the first start
    /// of all mods together.
    Loading,
    /// Its systems run every frame.
    Running(Live),
    /// Turned off by the player ([`ModControl::Disable`]): its systems do not
    /// run; its instance, state and entities are kept for
    /// [`ModControl::Enable`].
    Disabled(Live),
    /// Stopped until a new version of it arrives: another mod's reload
    /// changed the layout of a component it uses. Its instance and state are
    /// kept, for the new version to take over.
    Waiting(Live, ModError),
    /// Stopped with `error`, or left out before loading. If it never
    /// `started`, a new file starts it as at first (its `Startup` systems
    /// run); otherwise a new file is swapped in as a reload.
    Failed { error: ModError, started: bool },
}

/// What a mod that has an instance holds: the instance and the version it
/// runs.
pub(crate) struct Live {
    pub instance: ModInstance,
    /// The [`ModAsset::digest`] of the running version: a compile of the
    /// same bytes (the file written again unchanged) is not swapped in.
    pub digest: u64,
    /// The optimizing compile of the running baseline code, when one runs.
    pub tier_up: Option<Task<Result<wasmtime::Module, ModLoadError>>>,
}

impl Life {
    /// The mod ran once: a reload must not run its `Startup` systems again.
    pub fn started(&self) -> bool {
        match self {
            Life::Loading => false,
            Life::Running(_) | Life::Disabled(_) | Life::Waiting(..) => true,
            Life::Failed { started, .. } => *started,
        }
    }

    /// What the mod holds, if it has an instance.
    pub fn live(&self) -> Option<&Live> {
        match self {
            Life::Running(live) | Life::Disabled(live) | Life::Waiting(live, _) => Some(live),
            Life::Loading | Life::Failed { .. } => None,
        }
    }

    pub fn live_mut(&mut self) -> Option<&mut Live> {
        match self {
            Life::Running(live) | Life::Disabled(live) | Life::Waiting(live, _) => Some(live),
            Life::Loading | Life::Failed { .. } => None,
        }
    }

    /// Moves to the state `next` makes of what the mod holds (`None` if it
    /// holds no instance).
    pub fn become_(&mut self, next: impl FnOnce(Option<Live>) -> Life) {
        let live = match std::mem::replace(self, Life::Loading) {
            Life::Running(live) | Life::Disabled(live) | Life::Waiting(live, _) => Some(live),
            Life::Loading | Life::Failed { .. } => None,
        };
        *self = next(live);
    }
}

/// One mod file and what became of it.
pub struct ModEntry {
    /// The file name within the mod folder.
    pub file: String,
    /// Name and version from the mod's descriptor (empty until it starts).
    pub name: String,
    pub version: String,
    /// Times a changed file replaced the running version.
    pub reloads: u32,
    /// The last reload that failed (the previous version kept running).
    pub last_error: Option<String>,
    pub(crate) life: Life,
    /// Its file as a Bevy asset; `None` if it was left out before loading.
    pub(crate) handle: Option<Handle<ModAsset>>,
    /// The compiled file (its [`ModAsset::serial`]) last started or swapped
    /// in, successfully or not: a newer one is a new version to try.
    pub(crate) tried: Option<u64>,
    /// A [`ModControl::Reload`] asked to swap the file in even if its bytes
    /// are those of the running version.
    pub(crate) forced_reload: bool,
    /// The manifest the mod was resolved with (that of the running version).
    pub manifest: Option<Manifest>,
    /// Time its systems took per frame, smoothed over about 30 frames.
    pub time_per_frame: std::time::Duration,
    /// Time its systems took so far in this frame.
    pub(crate) time_this_frame: std::time::Duration,
}

impl ModEntry {
    /// A mod about to load from `handle`, or (without one) left out with
    /// `left_out`'s error.
    pub(crate) fn new(file: &str, manifest: Option<Manifest>, start: Result<Handle<ModAsset>, ModError>) -> Self {
        let (life, handle) = match start {
            Ok(handle) => (Life::Loading, Some(handle)),
            Err(error) => (Life::Failed { error, started: false }, None),
        };
        ModEntry {
            file: file.to_string(),
            name: String::new(),
            version: String::new(),
            reloads: 0,
            last_error: None,
            life,
            handle,
            tried: None,
            forced_reload: false,
            manifest,
            time_per_frame: Default::default(),
            time_this_frame: Default::default(),
        }
    }

    /// Where the mod is in its life, for players and game code.
    pub fn status(&self) -> ModStatus {
        match &self.life {
            Life::Loading => ModStatus::Loading,
            Life::Running(_) => ModStatus::Running,
            Life::Disabled(_) => ModStatus::Disabled,
            Life::Waiting(_, error) | Life::Failed { error, .. } => ModStatus::Failed(error.to_string()),
        }
    }

    /// Why the mod stopped (or waits for a new version), as a value to
    /// branch on; `None` while it loads, runs or is disabled.
    pub fn error(&self) -> Option<&ModError> {
        match &self.life {
            Life::Waiting(_, error) | Life::Failed { error, .. } => Some(error),
            Life::Loading | Life::Running(_) | Life::Disabled(_) => None,
        }
    }

    /// True while the mod runs its systems every frame.
    pub fn is_running(&self) -> bool {
        matches!(self.life, Life::Running(_))
    }

    /// Records that a new version could not replace the running one: logs it,
    /// keeps it as `last_error`, and returns the message to send.
    pub(crate) fn reload_failed(&mut self, cause: impl std::fmt::Display) -> ModReloadFailed {
        let error = if matches!(self.life, Life::Failed { .. } | Life::Waiting(..)) {
            format!("reload failed, the mod stays stopped: {cause}")
        } else {
            format!("reload failed, the previous version keeps running: {cause}")
        };
        let _span = info_span!("mod", file = %self.file).entered();
        error!("mod {}: {error}", self.file);
        self.last_error = Some(error.clone());
        ModReloadFailed { file: self.file.clone(), error }
    }

    /// The mod's instance: that of a running or disabled mod, or the one a
    /// mod waiting for its new version keeps.
    pub fn instance(&self) -> Option<&ModInstance> {
        self.life.live().map(|live| &live.instance)
    }

    /// The instance of a running mod.
    pub(crate) fn running_instance(&self) -> Option<&ModInstance> {
        match &self.life {
            Life::Running(live) => Some(&live.instance),
            _ => None,
        }
    }

    /// The mod's saved state as its `mod_save_state` writes it (RON), as a
    /// reload or a save game would take it: `Ok(None)` if the mod keeps no
    /// state or has no instance (it failed to start). Calls into the mod:
    /// only between frames, never from a mod's system.
    pub fn saved_state(&mut self) -> Result<Option<String>, ModError> {
        match self.life.live_mut() {
            Some(live) => live.instance.save_state(),
            None => Ok(None),
        }
    }

    /// This mod as resolution sees it: its running version's manifest, or
    /// the implicit one of a file without.
    pub(crate) fn candidate(&self) -> Candidate {
        let manifest = self.manifest.clone().unwrap_or_else(|| implicit_manifest(&self.file));
        Candidate { file: self.file.clone(), manifest: Ok(manifest) }
    }

    /// Makes `instance`, made from `asset`, the running version (disabled if
    /// the mod was): its manifest becomes the mod's, and its optimized code
    /// starts compiling. The previous instance, if any, is dropped.
    pub(crate) fn run_version(&mut self, instance: ModInstance, runtime: &WasmRuntime, asset: &ModAsset) {
        let live = Live { instance, digest: asset.digest, tier_up: tier_up(runtime, asset) };
        let disabled = matches!(self.life, Life::Disabled(_));
        self.life = if disabled { Life::Disabled(live) } else { Life::Running(live) };
        if asset.manifest.is_some() {
            self.manifest = asset.manifest.clone();
        }
    }
}

/// Compiles `asset`'s optimized code in the background, if it is baseline
/// code.
fn tier_up(runtime: &WasmRuntime, asset: &ModAsset) -> Option<Task<Result<wasmtime::Module, ModLoadError>>> {
    asset.tier_up.is_some().then(|| {
        let (runtime, asset) = (runtime.clone(), asset.clone());
        AsyncComputeTaskPool::get().spawn(async move { runtime.tier_up(&asset).expect("baseline code has bytes") })
    })
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
        self.discovered && self.mods.iter().all(|m| !matches!(m.life, Life::Loading))
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
