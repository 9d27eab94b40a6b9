//! The modding runtime as a Bevy plugin.
//!
//! Core concepts, in the spirit of wasmtime's own docs:
//! - one wasmtime [`Engine`](wasmtime::Engine) and one [`Linker`](wasmtime::Linker)
//!   per process, in [`WasmRuntime`]; a background thread ticks the engine's
//!   epoch every millisecond, which is how a call's deadline is enforced
//!   (counted in the thread's CPU time, so a loaded machine is not blamed
//!   on a mod);
//! - one [`ModAsset`] per `.wasm` file, compiled on Bevy's IO pool;
//! - one [`ModInstance`] (one `Store`) per running mod, created at a frame
//!   boundary (`PreUpdate`, before any mod system of the frame), never while
//!   mod code is on the stack;
//! - one exclusive driver system per schedule (`Update`, `FixedUpdate`) that
//!   runs every running mod's systems for that schedule, mods in file-name
//!   order, systems in their declared order.
//!
//! A mod that fails (load error, trap, bad output) is marked
//! [`ModStatus::Failed`] with an error naming it and the cause; the game and
//! the other mods go on.

pub mod adapters;
mod asset;
mod components;
pub mod dev;
mod error;
pub mod expose;
mod instance;
mod messages;
mod resolve;
pub mod save;
mod topo;
mod values;

pub use asset::{ModAsset, ModLoader, compile, read_abi_version, read_manifest};
pub use components::{ModComponents, NamedComponent};
pub use error::{ModError, ModLoadError};
pub use expose::{ComponentAdapter, GameApi, ModAccess, ModApp};
pub use instance::{HostState, ModInstance, ModLimits};
pub use messages::{ChannelId, ModMessages};
pub use resolve::{Candidate, Refused, Resolution, resolve};

use bevy::asset::io::{AssetSource, AssetSourceBuilder, AssetSourceEvent, AssetSourceId, AssetWatcher};
use bevy::asset::{AssetLoadFailedEvent, AssetPath, LoadState};
use bevy::input::keyboard::KeyCode as BevyKey;
use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task};
use mod_api::abi::{FrameHeader, ScheduleLabel};
use mod_api::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Name of the asset source that serves the mod folder.
pub const MOD_SOURCE: &str = "mods";

/// Runs WebAssembly mods from a folder.
///
/// NOTE: add it *before* `DefaultPlugins`/`AssetPlugin`: it registers the
/// `mods://` asset source, which Bevy only accepts before the asset plugin.
pub struct ModdingPlugin {
    /// The folder whose `*.wasm` files are loaded, each as one mod.
    pub mods_dir: PathBuf,
    /// CPU, memory and quota limits for every mod.
    pub limits: ModLimits,
    /// Base of the per-call random seeds mods see (`Time::seed`).
    pub seed: u64,
}

impl Default for ModdingPlugin {
    fn default() -> Self {
        ModdingPlugin { mods_dir: PathBuf::from("assets/mods"), limits: ModLimits::default(), seed: 0x5EED }
    }
}

/// System sets of the runtime, for ordering engine systems around mods.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModSystems {
    /// `PreUpdate`, right after Bevy stores newly loaded assets: message
    /// buffers turn over, loaded mods start, changed mods are swapped in,
    /// save games are written and loaded. No mod code runs before it in a
    /// frame (mods run in `FixedUpdate` and `Update`).
    Activate,
    /// `PreUpdate`: keyboard state is captured for mods.
    Input,
    /// `Update`: mod `Update` systems run.
    Update,
    /// `FixedUpdate`: mod `FixedUpdate` systems run.
    FixedUpdate,
}

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
    handle: Option<Handle<ModAsset>>,
    instance: Option<ModInstance>,
    /// The compiled file (its [`ModAsset::serial`]) last started or swapped
    /// in, successfully or not: a newer one is a new version to try.
    tried: Option<u64>,
    /// The [`ModAsset::digest`] of the running version: a compile of the
    /// same bytes (the file written again unchanged) is not swapped in.
    running_digest: Option<u64>,
    /// A [`ModControl::Reload`] asked to swap the file in even if its bytes
    /// are those of the running version.
    forced_reload: bool,
    /// The mod ran once: a reload must not run its `Startup` systems again.
    started: bool,
    /// The optimizing compile of the running baseline code, when one runs.
    tier_up: Option<Task<Result<wasmtime::Module, ModLoadError>>>,
    /// The manifest the mod was resolved with (that of the running version).
    pub manifest: Option<Manifest>,
    /// Time its systems took per frame, smoothed over about 30 frames.
    pub time_per_frame: std::time::Duration,
    /// Time its systems took so far in this frame.
    time_this_frame: std::time::Duration,
}

impl ModEntry {
    /// Records that a new version could not replace the running one: logs it,
    /// keeps it as `last_error`, and returns the message to send.
    fn reload_failed(&mut self, cause: impl std::fmt::Display) -> ModReloadFailed {
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
    fn candidate(&self) -> Candidate {
        let manifest = self.manifest.clone().unwrap_or_else(|| implicit_manifest(&self.file));
        Candidate { file: self.file.clone(), manifest: Ok(manifest) }
    }

    /// Makes `instance`, made from `asset`, the running version: its manifest
    /// becomes the mod's, and its optimized code starts compiling.
    fn run_version(&mut self, instance: ModInstance, runtime: &WasmRuntime, asset: &ModAsset) {
        self.instance = Some(instance);
        self.running_digest = Some(asset.digest);
        if asset.manifest.is_some() {
            self.manifest = asset.manifest.clone();
        }
        self.start_tier_up(runtime, asset);
    }

    /// Starts compiling `asset`'s optimized code in the background, if it is
    /// baseline code; replaces (and so cancels) any earlier such compile.
    fn start_tier_up(&mut self, runtime: &WasmRuntime, asset: &ModAsset) {
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
    started_once: bool,
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

/// How long the file watcher waits for writes to a mod file to settle. It
/// is most of a reload's latency after the compile. Tools should replace a
/// mod file atomically (write elsewhere, then rename), as `--dev` and
/// `scripts/build-mods` do; a file copied in place in more than this time
/// may be read half-written, which fails that reload with an error, and the
/// next write event reloads the whole file.
pub const WATCH_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(15);

/// The process-wide wasmtime state: two compilers and one linker each.
///
/// Mods compile twice (tiered compilation, as browsers do): first with the
/// baseline compiler, winch, which is about seven times faster than
/// cranelift and makes worse code, so a changed mod runs within a frame or
/// two; then with the optimizing compiler, cranelift, in the background,
/// and the optimized code is swapped in at a later frame boundary with the
/// mod's state (see `tier_up_mods`). Both engines interrupt on the same
/// epoch ticks.
#[derive(Resource, Clone)]
pub struct WasmRuntime {
    /// The optimizing compiler (cranelift) and the linker for its modules.
    pub engine: wasmtime::Engine,
    pub linker: Arc<wasmtime::Linker<HostState>>,
    /// The baseline compiler (winch), where this platform has it.
    baseline: Option<(wasmtime::Engine, Arc<wasmtime::Linker<HostState>>)>,
    pub limits: ModLimits,
    ticker_stop: Arc<AtomicBool>,
}

/// Which compiler made a module's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    /// Winch: compiled fast, runs slower; replaced by optimized code soon.
    Baseline,
    /// Cranelift.
    Optimized,
}

impl WasmRuntime {
    /// Both engines with epoch interruption, their linkers, and the epoch
    /// ticker. Without a baseline compiler for this platform, mods compile
    /// once, optimized.
    pub fn new(limits: ModLimits) -> Self {
        let tier = |strategy: wasmtime::Strategy| -> wasmtime::Result<_> {
            let mut config = wasmtime::Config::new();
            config.epoch_interruption(true).strategy(strategy);
            let engine = wasmtime::Engine::new(&config)?;
            let mut linker = wasmtime::Linker::new(&engine);
            instance::define_imports(&mut linker).expect("host functions have distinct names");
            Ok((engine, Arc::new(linker)))
        };
        let (engine, linker) = tier(wasmtime::Strategy::Cranelift).expect("a default wasmtime config is valid");
        let baseline = tier(wasmtime::Strategy::Winch)
            .inspect_err(|e| info!("no baseline compiler on this platform ({e}); mods compile optimized only"))
            .ok();
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let weak: Vec<_> =
            std::iter::once(&engine).chain(baseline.as_ref().map(|(e, _)| e)).map(|e| e.weak()).collect();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    for engine in &weak {
                        match engine.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => return,
                        }
                    }
                }
            })
            .expect("can spawn the epoch thread");
        WasmRuntime { engine, linker, baseline, limits, ticker_stop }
    }

    /// Checks `bytes` against the ABI and compiles them with the fastest
    /// compiler that takes them: the baseline one if there is one (the
    /// asset then carries the bytes for [`tier_up`](Self::tier_up)), else
    /// the optimizing one.
    pub fn compile(&self, file: &str, bytes: &[u8]) -> Result<ModAsset, ModLoadError> {
        let Some((baseline, _)) = &self.baseline else { return compile(&self.engine, file, bytes) };
        match compile(baseline, file, bytes) {
            Ok(mut asset) => {
                asset.tier_up = Some(bytes.into());
                Ok(asset)
            }
            // NOTE: winch lacks some proposals cranelift has; the optimizing
            // compiler decides, and reports the error if the module is bad.
            Err(ModLoadError::Compile { cause, .. }) => {
                let asset = compile(&self.engine, file, bytes)?;
                info!("mod {file}: the baseline compiler does not take it ({cause}); it runs optimized code only");
                Ok(asset)
            }
            Err(e) => Err(e),
        }
    }

    /// Compiles a baseline asset's bytes with the optimizing compiler.
    pub fn tier_up(&self, asset: &ModAsset) -> Option<Result<wasmtime::Module, ModLoadError>> {
        let bytes = asset.tier_up.as_ref()?;
        Some(compile(&self.engine, &asset.file, bytes).map(|a| a.module))
    }

    /// The linker for `module`, by the engine that compiled it.
    pub fn linker_for(&self, module: &wasmtime::Module) -> &wasmtime::Linker<HostState> {
        match (self.tier_of(module), &self.baseline) {
            (Tier::Baseline, Some((_, linker))) => linker,
            _ => &self.linker,
        }
    }

    /// Which compiler made `module`.
    pub fn tier_of(&self, module: &wasmtime::Module) -> Tier {
        match &self.baseline {
            Some((engine, _)) if wasmtime::Engine::same(module.engine(), engine) => Tier::Baseline,
            _ => Tier::Optimized,
        }
    }
}

impl Drop for WasmRuntime {
    fn drop(&mut self) {
        if Arc::strong_count(&self.ticker_stop) == 2 {
            self.ticker_stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Inputs to the frame header, captured once per frame.
#[derive(Resource, Default)]
pub struct ModFrameInput {
    pub header: FrameHeader,
    /// The run's base seed ([`ModdingPlugin::seed`]).
    seed: u64,
    /// `FixedUpdate` runs of mods so far (several or none per frame).
    pub(crate) fixed_steps: u64,
}

/// The header for one run of `schedule`: time from Bevy's `Time` (the fixed
/// clock in `FixedUpdate`), keys from this frame, and the schedule run's
/// seed, which each system's call mixes with its mod's id and its own name
/// (`system_seed_key`, mixed in by `ModInstance::run_nth`).
///
/// The frame number counts only frames in which mods run, so a run is
/// reproducible however many frames loading took.
fn next_header(world: &mut World, schedule: ScheduleLabel) -> FrameHeader {
    let time = world.resource::<Time>();
    let (delta, elapsed) = (time.delta_secs(), time.elapsed_secs_f64());
    let mut input = world.resource_mut::<ModFrameInput>();
    let run = match schedule {
        ScheduleLabel::Update => {
            input.header.frame += 1;
            input.header.frame
        }
        ScheduleLabel::FixedUpdate => {
            input.fixed_steps += 1;
            input.fixed_steps
        }
        ScheduleLabel::Startup => input.header.frame,
    };
    let seed = schedule_seed(input.seed, schedule, run);
    FrameHeader { delta_secs: delta, elapsed_secs: elapsed, seed, ..input.header }
}

/// The seed of one run of `schedule`: the `run`th (the frame number for
/// `Update` and `Startup`, the fixed step for `FixedUpdate`) of a run whose
/// base seed is `base`. Nothing else goes in, so which other mods are
/// installed, or how many systems they have, never changes it.
pub(crate) fn schedule_seed(base: u64, schedule: ScheduleLabel, run: u64) -> u64 {
    splitmix(base ^ splitmix(((schedule as u64) << 56) ^ run))
}

/// The part of a system's seed that is its own: its mod's id and its name,
/// hashed with FNV-1a (stable across builds, platforms and Rust versions).
pub(crate) fn system_seed_key(mod_id: &str, system: &str) -> u64 {
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
    }
    splitmix(fnv1a(mod_id.as_bytes())) ^ fnv1a(system.as_bytes())
}

#[derive(Resource)]
struct ModsDir(PathBuf);

impl Plugin for ModdingPlugin {
    fn build(&self, app: &mut App) {
        let dir = self.mods_dir.to_string_lossy().into_owned();
        // NOTE: like `AssetSourceBuilder::platform_default`, with a short debounce
        // so a rebuilt mod is swapped in quickly.
        let source = AssetSourceBuilder::new(AssetSource::get_default_reader(dir.clone()))
            .with_watcher(renames_as_writes(AssetSource::get_default_watcher(dir.clone(), WATCH_DEBOUNCE)))
            .with_watch_warning(AssetSource::get_default_watch_warning());
        app.register_asset_source(MOD_SOURCE, source);
        let runtime = WasmRuntime::new(self.limits.clone());
        app.insert_resource(runtime)
            .insert_resource(ModsDir(self.mods_dir.clone()))
            .insert_resource(ModFrameInput { seed: self.seed, ..default() })
            .init_resource::<ModRegistry>()
            .add_message::<ModStarted>()
            .add_message::<ModFailed>()
            .add_message::<ModReloaded>()
            .add_message::<ModReloadFailed>()
            .add_message::<ModControl>()
            .add_message::<save::SaveGameRequest>()
            .add_message::<save::SaveGameDone>()
            .add_systems(Startup, discover_mods)
            .add_systems(
                PreUpdate,
                (
                    messages::update_messages,
                    control_mods,
                    discover_new_mods,
                    watch_reloads,
                    activate_mods,
                    save::handle_save_requests,
                )
                    .chain()
                    .in_set(ModSystems::Activate),
            )
            .add_systems(PreUpdate, capture_input.in_set(ModSystems::Input))
            .add_systems(Update, run_update_mods.in_set(ModSystems::Update))
            .add_systems(FixedUpdate, run_fixed_mods.in_set(ModSystems::FixedUpdate));
        // NOTE: keyboard state must be read after Bevy's input systems update it.
        app.configure_sets(PreUpdate, ModSystems::Input.after(bevy::input::InputSystems));
        // NOTE: a mod file that finished compiling is stored in `Assets` by
        // Bevy in `PreUpdate`; swapping right after it, not in the next
        // frame's `First`, makes a reload one frame quicker.
        app.configure_sets(PreUpdate, ModSystems::Activate.after(bevy::asset::AssetTrackingSystems));
        prepare_world(app.world_mut());
    }

    fn finish(&self, app: &mut App) {
        let runtime = app.world().resource::<WasmRuntime>().clone();
        app.init_asset::<ModAsset>().register_asset_loader(ModLoader { runtime });
    }
}

/// Wraps an asset watcher so a file renamed within the mod folder counts as
/// a write of its new name.
///
/// NOTE: a careful build tool writes a mod next to its place and renames it
/// in (`scripts/build-mods`, `--dev`), so the game never reads half a file.
/// When both names are in the watched folder, the watcher reports a rename,
/// and Bevy's asset server (0.19) reloads nothing on a rename: the new
/// version would be missed whenever the watcher saw the two halves of the
/// write in different batches, as it does on a loaded machine.
fn renames_as_writes<W>(
    mut watcher: W,
) -> impl FnMut(async_channel::Sender<AssetSourceEvent>) -> Option<Box<dyn AssetWatcher>> + Send + Sync + 'static
where
    W: FnMut(async_channel::Sender<AssetSourceEvent>) -> Option<Box<dyn AssetWatcher>> + Send + Sync + 'static,
{
    move |server: async_channel::Sender<AssetSourceEvent>| {
        let (sender, events) = async_channel::unbounded();
        let inner = watcher(sender)?;
        // Ends when the watcher is dropped (its sender with it).
        let forward = std::thread::Builder::new().name("mod-watch".into()).spawn(move || {
            while let Ok(event) = events.recv_blocking() {
                let event = match event {
                    AssetSourceEvent::RenamedAsset { new, .. } => AssetSourceEvent::ModifiedAsset(new),
                    other => other,
                };
                if server.send_blocking(event).is_err() {
                    return;
                }
            }
        });
        if let Err(e) = forward {
            error!("cannot watch the mod folder (no thread: {e}); changed mods are not reloaded");
            return None;
        }
        Some(inner)
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
}

/// The mod API version this host offers, for manifests' `api` requirement.
pub fn api_version() -> semver::Version {
    semver::Version::new(mod_api::abi::ABI_MAJOR.into(), mod_api::abi::ABI_MINOR.into(), 0)
}

/// What stands in for the manifest of a file that has none (a mod built
/// before ABI 1.3, or by hand): its file stem as id, any version, no
/// dependencies. A file that cannot be read or is not wasm gets one too;
/// its loader reports why.
fn implicit_manifest(file: &str) -> Manifest {
    let id = file.strip_suffix(".wasm").unwrap_or(file).to_lowercase();
    let id = id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    Manifest {
        id,
        name: file.to_string(),
        version: "0.0.0".into(),
        authors: Vec::new(),
        description: String::new(),
        api: "*".into(),
        dependencies: Vec::new(),
        load_before: Vec::new(),
        load_after: Vec::new(),
    }
}

/// Reads the mod folder's `*.wasm` files and their manifests, resolves the
/// whole set (dependencies, versions, conflicts; see `resolve`), and starts
/// loading the mods that can run, in load order: dependencies first, then
/// by id. The mods left out are listed as failed, with what to install,
/// update or remove.
fn discover_mods(
    dir: Res<ModsDir>,
    server: Res<AssetServer>,
    mut registry: ResMut<ModRegistry>,
    mut failed: MessageWriter<ModFailed>,
) {
    registry.discovered = true;
    let files = match mod_files(&dir.0) {
        Ok(files) => files,
        Err(error) => {
            error!("{error}");
            failed.write(ModFailed { file: dir.0.display().to_string(), error });
            return;
        }
    };
    info!("found {} mod(s) in {}: {}", files.len(), dir.0.display(), files.join(", "));
    let candidates: Vec<Candidate> = files.iter().map(|file| candidate(&dir.0, file)).collect();
    let resolution = resolve(&candidates, &api_version());
    add_mods(&mut registry, &server, &mut failed, &candidates, resolution);
}

/// The `*.wasm` files of the mod folder, by name.
fn mod_files(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the mod folder {}: {e}", dir.display()))?;
    let mut files: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    files.sort();
    Ok(files)
}

/// The manifest of mod file `file`, read before anything is compiled.
fn candidate(dir: &std::path::Path, file: &str) -> Candidate {
    // A file that cannot be read, is not wasm or is built for another ABI is
    // loaded under an implicit manifest: its loader names why.
    let read = std::fs::read(dir.join(file))
        .ok()
        .filter(|bytes| read_abi_version(file, bytes).is_ok_and(|(major, minor)| asset::abi_supported(major, minor)));
    let manifest = match read.map(|bytes| read_manifest(file, &bytes)) {
        Some(Ok(Some(manifest))) => Ok(manifest),
        Some(Err(e @ ModLoadError::Manifest { .. })) => Err(e.to_string()),
        _ => Ok(implicit_manifest(file)),
    };
    Candidate { file: file.to_string(), manifest }
}

/// Adds the `candidates` to the registry as `resolution` placed them: those
/// that can run start loading, in load order; those left out are listed as
/// failed, with the resolution's error.
fn add_mods(
    registry: &mut ModRegistry,
    server: &AssetServer,
    failed: &mut MessageWriter<ModFailed>,
    candidates: &[Candidate],
    resolution: Resolution,
) {
    let manifest_of = |file: &str| candidates.iter().find(|c| c.file == file).and_then(|c| c.manifest.clone().ok());
    let entry = |file: &str, status: ModStatus, handle: Option<Handle<ModAsset>>| ModEntry {
        file: file.to_string(),
        name: String::new(),
        version: String::new(),
        status,
        reloads: 0,
        last_error: None,
        handle,
        instance: None,
        tried: None,
        running_digest: None,
        forced_reload: false,
        started: false,
        tier_up: None,
        manifest: manifest_of(file),
        time_per_frame: Default::default(),
        time_this_frame: Default::default(),
    };
    let is_candidate = |file: &str| candidates.iter().any(|c| c.file == file);
    let order: Vec<&String> = resolution.order.iter().filter(|f| is_candidate(f)).collect();
    if !order.is_empty() {
        info!("load order: {}", order.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "));
    }
    for file in order {
        let path = AssetPath::from(file.clone()).with_source(AssetSourceId::from(MOD_SOURCE));
        registry.mods.push(entry(file, ModStatus::Loading, Some(server.load::<ModAsset>(path))));
    }
    for Refused { file, error } in resolution.refused.into_iter().filter(|r| is_candidate(&r.file)) {
        error!("mod {file} left out: {error}");
        failed.write(ModFailed { file: file.clone(), error: error.clone() });
        registry.mods.push(entry(&file, ModStatus::Failed(error), None));
    }
}

/// How often the mod folder is looked at for new files.
const NEW_MOD_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Loads `*.wasm` files that appear in the mod folder while the game runs
/// (say from `scripts/new-mod`): they are resolved against the mods there
/// and, if they can run, start once compiled, after the mods already there.
fn discover_new_mods(
    dir: Res<ModsDir>,
    server: Res<AssetServer>,
    mut registry: ResMut<ModRegistry>,
    mut failed: MessageWriter<ModFailed>,
    mut last: Local<Option<std::time::Instant>>,
) {
    if !registry.started_once || last.is_some_and(|t| t.elapsed() < NEW_MOD_POLL) {
        return;
    }
    *last = Some(std::time::Instant::now());
    let Ok(files) = mod_files(&dir.0) else { return };
    let fresh: Vec<Candidate> =
        files.iter().filter(|f| !registry.mods.iter().any(|m| &m.file == *f)).map(|f| candidate(&dir.0, f)).collect();
    if fresh.is_empty() {
        return;
    }
    let names: Vec<&str> = fresh.iter().map(|c| c.file.as_str()).collect();
    info!("new mod file(s) in {}: {}", dir.0.display(), names.join(", "));
    let present = registry.mods.iter().filter(|m| m.instance.is_some() || m.status == ModStatus::Loading);
    let present = present.map(ModEntry::candidate);
    let all: Vec<Candidate> = present.chain(fresh.iter().cloned()).collect();
    let resolution = resolve(&all, &api_version());
    add_mods(&mut registry, &server, &mut failed, &fresh, resolution);
}

/// Whether `asset` may replace the running version of `file`: its manifest
/// must still resolve with every other running mod, none of which may be
/// left out by it.
fn check_new_manifest(registry: &ModRegistry, file: &str, asset: &ModAsset) -> Result<(), String> {
    let Some(new) = &asset.manifest else { return Ok(()) };
    let candidates: Vec<Candidate> =
        registry
            .mods
            .iter()
            .filter(|m| m.file == file || m.instance.is_some())
            .map(|m| {
                if m.file == file {
                    Candidate { file: m.file.clone(), manifest: Ok(new.clone()) }
                } else {
                    m.candidate()
                }
            })
            .collect();
    let refused = resolve(&candidates, &api_version()).refused;
    if refused.is_empty() {
        return Ok(());
    }
    Err(refused.into_iter().map(|r| r.error).collect::<Vec<_>>().join("; "))
}

/// The descriptor a mod's code gives must be the mod its manifest names.
fn check_identity(manifest: Option<&Manifest>, instance: &ModInstance) -> Result<(), String> {
    let Some(m) = manifest else { return Ok(()) };
    let d = &instance.descriptor;
    if d.name != m.id || d.version != m.version {
        return Err(format!(
            "its manifest says mod {} {} but its code says {} {}: rebuild it (the Rust SDK takes both from the manifest)",
            m.id, m.version, d.name, d.version
        ));
    }
    Ok(())
}

/// Serves [`ModControl`] requests, and folds last frame's time of each mod
/// into its [`ModEntry::time_per_frame`].
fn control_mods(
    mut requests: MessageReader<ModControl>,
    mut registry: ResMut<ModRegistry>,
    server: Res<AssetServer>,
    mut failed: MessageWriter<ModFailed>,
) {
    for entry in &mut registry.mods {
        let frame = std::mem::take(&mut entry.time_this_frame);
        entry.time_per_frame = (entry.time_per_frame * 29 + frame) / 30;
    }
    for request in requests.read() {
        let (ModControl::Enable(name) | ModControl::Disable(name) | ModControl::Reload(name)) = request;
        let Some(entry) = registry.mods.iter_mut().find(|m| m.name == *name || m.file == *name) else {
            let error = format!("no mod {name} to {request:?}");
            warn!("{error}");
            failed.write(ModFailed { file: name.clone(), error });
            continue;
        };
        match (request, &entry.status) {
            (ModControl::Disable(_), ModStatus::Running) => {
                info!("mod {} disabled", entry.file);
                entry.status = ModStatus::Disabled;
            }
            (ModControl::Enable(_), ModStatus::Disabled) => {
                info!("mod {} enabled", entry.file);
                entry.status = ModStatus::Running;
            }
            (ModControl::Reload(_), _) => match &entry.handle {
                Some(handle) => {
                    entry.forced_reload = true;
                    if let Some(path) = handle.path() {
                        server.reload(path.clone());
                    }
                }
                None => warn!("mod {} was left out at startup; restart the game to reconsider it", entry.file),
            },
            (request, status) => info!("mod {}: {request:?} ignored, it is {status:?}", entry.file),
        }
    }
}

/// Restarts mods whose first start failed once their file compiles anew,
/// and reports files that changed but failed to compile (the old version
/// keeps running). Changed files that compiled are swapped in by
/// [`reload_mods`].
fn watch_reloads(
    assets: Res<Assets<ModAsset>>,
    mut load_failed: MessageReader<AssetLoadFailedEvent<ModAsset>>,
    mut registry: ResMut<ModRegistry>,
    mut reload_failed: MessageWriter<ModReloadFailed>,
) {
    for entry in registry.mods.iter_mut().filter(|m| !m.started && matches!(m.status, ModStatus::Failed(_))) {
        let Some(asset) = entry.handle.as_ref().and_then(|h| assets.get(h)) else { continue };
        if entry.tried != Some(asset.serial) {
            entry.status = ModStatus::Loading;
        }
    }
    for event in load_failed.read() {
        let Some(entry) = registry.mods.iter_mut().find(|m| m.handle.as_ref().is_some_and(|h| h.id() == event.id))
        else {
            continue;
        };
        // Before the first start, `activate_mods` reports the failure itself.
        if entry.started {
            reload_failed.write(entry.reload_failed(error_chain(&event.error)));
        }
    }
}

/// At the frame boundary: swaps in mods whose file changed.
///
/// A new version may change the layout of components it uses: their values
/// are converted by field name when the swap commits. Other running mods
/// that still use the old layout wait (their systems stop, their state is
/// kept) until their own new version arrives.
fn reload_mods(world: &mut World, registry: &mut ModRegistry, runtime: &WasmRuntime) {
    let mods_dir = world.resource::<ModsDir>().0.clone();
    for i in 0..registry.mods.len() {
        let entry = &registry.mods[i];
        let Some(asset) = entry.handle.as_ref().and_then(|h| world.resource::<Assets<ModAsset>>().get(h)) else {
            continue;
        };
        if !entry.started || entry.tried == Some(asset.serial) {
            continue;
        }
        // The file written again with the bytes that run: not a new version
        // (a watcher may report one write as several events), unless the
        // player asked for a reload.
        if entry.instance.is_some() && entry.running_digest == Some(asset.digest) && !entry.forced_reload {
            debug!("mod {}: file written again unchanged; not reloaded", entry.file);
            let serial = asset.serial;
            registry.mods[i].tried = Some(serial);
            continue;
        }
        let asset = asset.clone();
        let resolves = check_new_manifest(registry, &entry.file, &asset);
        let entry = &mut registry.mods[i];
        entry.tried = Some(asset.serial);
        entry.forced_reload = false;
        if let Err(why) = resolves {
            world.write_message(entry.reload_failed(why));
            continue;
        }
        let new = ModInstance::new(runtime, &asset.module, &entry.file, world, entry.instance.as_ref()).and_then(
            |mut instance| {
                check_identity(asset.manifest.as_ref(), &instance)
                    .map_err(|cause| ModError::Descriptor { module: entry.file.clone(), cause })?;
                let warning = match entry.instance.as_mut() {
                    Some(old) => instance.take_over_from(old, world, &mods_dir)?,
                    None => {
                        instance.skip_held_messages(world);
                        None
                    }
                };
                let migrations = instance.prepare_migrations(world)?;
                Ok((instance, warning, migrations))
            },
        );
        let (instance, warning, migrations) = match new {
            Ok(new) => new,
            Err(e) => {
                world.write_message(entry.reload_failed(e));
                continue;
            }
        };
        let changed: Vec<(String, bevy::ecs::component::ComponentId)> =
            migrations.iter().map(|m| (m.name.clone(), m.from.id)).collect();
        world.resource_scope(|world, mut comps: Mut<ModComponents>| {
            for m in migrations {
                info!("mod {}: component {} changed layout; {} value(s) carried over", entry.file, m.name, m.len());
                comps.apply_migration(world, m);
            }
        });
        // The old instance is dropped only now, after the new one is ready.
        entry.run_version(instance, runtime, &asset);
        entry.reloads += 1;
        // A new version of a disabled mod stays disabled until enabled.
        if entry.status != ModStatus::Disabled {
            entry.status = ModStatus::Running;
        }
        if let Some(w) = &warning {
            error!("mod {}: {w}", entry.file);
        }
        entry.last_error = warning;
        info!("mod {} reloaded from {} (reload {})", entry.name, entry.file, entry.reloads);
        world.write_message(ModReloaded { file: entry.file.clone(), reloads: entry.reloads });
        let file = entry.file.clone();
        for (j, other) in registry.mods.iter_mut().enumerate() {
            let Some(old) = other.instance.as_ref() else { continue };
            let Some((name, _)) = changed.iter().find(|(_, id)| old.uses(*id)) else { continue };
            if j == i || other.status != ModStatus::Running {
                continue;
            }
            let error = format!(
                "waiting for a new version: component {name} changed layout when {file} was reloaded, and this \
                 mod uses the old layout; rebuild it (its state is kept until then)"
            );
            warn!("mod {}: {error}", other.file);
            other.status = ModStatus::Failed(error.clone());
            world.write_message(ModFailed { file: other.file.clone(), error });
        }
    }
}

/// At the frame boundary: swaps the optimized code in for baseline code
/// whose background compile finished. The mod's state and message cursors
/// move over as in a reload, but it is the same version, so it is not
/// counted or announced as one. If anything fails, the mod keeps running
/// its baseline code and the log says why.
fn tier_up_mods(world: &mut World, registry: &mut ModRegistry, runtime: &WasmRuntime) {
    for entry in &mut registry.mods {
        let Some(task) = entry.tier_up.as_mut() else { continue };
        let Some(compiled) = bevy::tasks::futures::check_ready(task) else { continue };
        entry.tier_up = None;
        // A mod waiting for its new version keeps what it has.
        let (ModStatus::Running | ModStatus::Disabled, Some(old)) = (&entry.status, entry.instance.as_mut()) else {
            continue;
        };
        let swapped = compiled.map_err(|e| e.to_string()).and_then(|module| {
            let mut new =
                ModInstance::new(runtime, &module, &entry.file, world, Some(old)).map_err(|e| e.to_string())?;
            new.take_over_as_other_tier(old, world)?;
            Ok(new)
        });
        match swapped {
            Ok(new) => {
                debug!("mod {}: optimized code swapped in", entry.file);
                entry.instance = Some(new);
            }
            Err(e) => warn!("mod {}: keeps running its baseline code; the optimized code failed: {e}", entry.file),
        }
    }
}

/// At the frame boundary: instantiates mods whose compile finished, and runs
/// their `Startup` systems.
fn activate_mods(world: &mut World) {
    world.resource_scope(|world, mut registry: Mut<ModRegistry>| {
        // The first time, start every mod in the same frame, in load order,
        // once all have compiled: a mod's first messages must not be lost to
        // a mod that happened to compile a little later.
        let server = world.resource::<AssetServer>();
        let compiling = registry.mods.iter().any(|m| {
            m.handle.as_ref().is_some_and(|h| matches!(server.load_state(h), LoadState::Loading | LoadState::NotLoaded))
        });
        if compiling && !registry.started_once {
            return;
        }
        registry.started_once = registry.discovered;
        let runtime = world.resource::<WasmRuntime>().clone();
        ModMessages::pull_game_messages(world);
        reload_mods(world, &mut registry, &runtime);
        tier_up_mods(world, &mut registry, &runtime);
        for entry in registry.mods.iter_mut().filter(|m| m.status == ModStatus::Loading) {
            let Some(handle) = entry.handle.clone() else { continue };
            let state = world.resource::<AssetServer>().load_state(&handle);
            match state {
                LoadState::Loaded => {
                    let Some(asset) = world.resource::<Assets<ModAsset>>().get(&handle).cloned() else { continue };
                    entry.tried = Some(asset.serial);
                    let header = next_header(world, ScheduleLabel::Startup);
                    let started =
                        ModInstance::new(&runtime, &asset.module, &entry.file, world, None).and_then(|mut instance| {
                            check_identity(asset.manifest.as_ref(), &instance)
                                .map_err(|cause| ModError::Descriptor { module: entry.file.clone(), cause })?;
                            instance.run_schedule(ScheduleLabel::Startup, world, &header)?;
                            Ok(instance)
                        });
                    match started {
                        Ok(instance) => {
                            entry.name = instance.descriptor.name.clone();
                            entry.version = instance.descriptor.version.clone();
                            entry.status = ModStatus::Running;
                            entry.started = true;
                            info!("mod {} {} started from {}", entry.name, entry.version, entry.file);
                            world.write_message(ModStarted { file: entry.file.clone(), name: entry.name.clone() });
                            entry.run_version(instance, &runtime, &asset);
                        }
                        Err(e) => fail(world, entry, e.to_string()),
                    }
                }
                LoadState::Failed(err) => {
                    let error = error_chain(&*err);
                    fail(world, entry, error);
                }
                _ => {}
            }
        }
    });
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn fail(world: &mut World, entry: &mut ModEntry, error: String) {
    let _span = info_span!("mod", file = %entry.file).entered();
    error!("mod {} failed: {error}", entry.file);
    entry.status = ModStatus::Failed(error.clone());
    entry.instance = None;
    entry.tier_up = None;
    world.write_message(ModFailed { file: entry.file.clone(), error });
}

/// Bevy keys in the bit order of [`mod_api::KeyCode`]: `KEYS[k as usize]`
/// is the Bevy key of mod key `k`.
pub const KEYS: [BevyKey; 61] = {
    use BevyKey::*;
    [
        KeyA,
        KeyB,
        KeyC,
        KeyD,
        KeyE,
        KeyF,
        KeyG,
        KeyH,
        KeyI,
        KeyJ,
        KeyK,
        KeyL,
        KeyM,
        KeyN,
        KeyO,
        KeyP,
        KeyQ,
        KeyR,
        KeyS,
        KeyT,
        KeyU,
        KeyV,
        KeyW,
        KeyX,
        KeyY,
        KeyZ,
        Digit0,
        Digit1,
        Digit2,
        Digit3,
        Digit4,
        Digit5,
        Digit6,
        Digit7,
        Digit8,
        Digit9,
        ArrowUp,
        ArrowDown,
        ArrowLeft,
        ArrowRight,
        Space,
        Enter,
        Escape,
        Tab,
        Backspace,
        ShiftLeft,
        ShiftRight,
        ControlLeft,
        ControlRight,
        F1,
        F2,
        F3,
        F4,
        F5,
        F6,
        F7,
        F8,
        F9,
        F10,
        F11,
        F12,
    ]
};

fn capture_input(keys: Option<Res<ButtonInput<BevyKey>>>, mut input: ResMut<ModFrameInput>) {
    let h = &mut input.header;
    h.keys_pressed = [0; 8];
    h.keys_just_pressed = [0; 8];
    h.keys_just_released = [0; 8];
    let Some(keys) = keys else { return };
    for (bit, key) in KEYS.iter().enumerate() {
        let set = |s: &mut [u32; 8], on: bool| s[bit / 32] |= (on as u32) << (bit % 32);
        set(&mut h.keys_pressed, keys.pressed(*key));
        set(&mut h.keys_just_pressed, keys.just_pressed(*key));
        set(&mut h.keys_just_released, keys.just_released(*key));
    }
}

fn run_update_mods(world: &mut World) {
    run_mods(world, ScheduleLabel::Update);
}

fn run_fixed_mods(world: &mut World) {
    run_mods(world, ScheduleLabel::FixedUpdate);
}

/// Runs every running mod's systems of `schedule`.
fn run_mods(world: &mut World, schedule: ScheduleLabel) {
    if !world.resource::<ModRegistry>().mods.iter().any(|m| m.instance.is_some() && m.status == ModStatus::Running) {
        return;
    }
    let header = next_header(world, schedule);
    // What game code wrote to the message types it exposes, for the mods.
    ModMessages::pull_game_messages(world);
    world.resource_scope(|world, mut registry: Mut<ModRegistry>| {
        let order = system_order(&registry, schedule);
        let mut spent = vec![std::time::Duration::ZERO; registry.mods.len()];
        // Each mod's time this frame, for the mod manager: one clock reading
        // each time the running mod changes (not two per system).
        let mut timing: Option<(usize, std::time::Instant)> = None;
        let mut span = None;
        for (k, n) in order {
            let entry = &mut registry.mods[k];
            // A mod waiting for a new version keeps its instance, not its turn;
            // a mod that failed earlier in this run runs no more systems.
            if entry.status != ModStatus::Running || entry.instance.is_none() {
                continue;
            }
            if timing.map(|(m, _)| m) != Some(k) {
                // What the host logs while a mod runs (ignored commands, …)
                // names the mod.
                drop(span.take());
                span = Some(info_span!("mod", name = %entry.name).entered());
                switch_timing(&mut registry, &mut timing, Some(k));
            }
            let entry = &mut registry.mods[k];
            let Some(instance) = entry.instance.as_mut() else { continue };
            if let Err(e) = instance.run_nth(schedule, n, world, &header, &mut spent[k]) {
                fail(world, entry, e.to_string());
            }
        }
        drop(span);
        switch_timing(&mut registry, &mut timing, None);
    });
}

/// Adds the time since the timed mod started to its `time_this_frame`, and
/// starts timing `next`.
fn switch_timing(registry: &mut ModRegistry, timing: &mut Option<(usize, std::time::Instant)>, next: Option<usize>) {
    let now = std::time::Instant::now();
    if let Some((k, since)) = *timing {
        registry.mods[k].time_this_frame += now - since;
    }
    *timing = next.map(|k| (k, now));
}

/// The order in which the running mods' systems of `schedule` run, as
/// `(mod index, position in the mod's own order)`: mods in load order, each
/// mod's systems in its own order, except where a system asks to run after
/// or before another mod's system by name (`.after_system("rocks::split")`);
/// such a constraint naming a system that is not running is ignored. If the
/// constraints contradict each other, the load order wins and a warning says
/// which mods asked for the impossible.
fn system_order(registry: &ModRegistry, schedule: ScheduleLabel) -> Vec<(usize, usize)> {
    let running = |m: &ModEntry| m.status == ModStatus::Running && m.instance.is_some();
    let mut nodes: Vec<(usize, usize)> = Vec::new();
    for (k, m) in registry.mods.iter().enumerate().filter(|(_, m)| running(m)) {
        let instance = m.instance.as_ref().expect("running");
        nodes.extend((0..instance.schedule_order(schedule).len()).map(|n| (k, n)));
    }
    let constrained = registry
        .mods
        .iter()
        .filter(|m| running(m))
        .any(|m| !m.instance.as_ref().expect("running").foreign_constraints(schedule).is_empty());
    if !constrained {
        return nodes;
    }
    // Each mod's own order (a chain) and the named constraints; among ready
    // systems the earliest in load order first.
    let position: HashMap<(usize, usize), usize> = nodes.iter().enumerate().map(|(p, &node)| (node, p)).collect();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (p, &(k, n)) in nodes.iter().enumerate() {
        let instance = registry.mods[k].instance.as_ref().expect("running");
        by_name.entry(instance.system_name(instance.schedule_order(schedule)[n])).or_insert(p);
    }
    let mut edges = Vec::new();
    for (p, &(k, n)) in nodes.iter().enumerate() {
        if n > 0 {
            edges.push((position[&(k, n - 1)], p));
        }
        let instance = registry.mods[k].instance.as_ref().expect("running");
        let i = instance.schedule_order(schedule)[n];
        for (system, other, after) in instance.foreign_constraints(schedule) {
            let Some(&q) = by_name.get(other.as_str()).filter(|_| *system == i) else { continue };
            edges.push(if *after { (q, p) } else { (p, q) });
        }
    }
    match topo::order(nodes.len(), &edges, |p| p) {
        Ok(order) => order.into_iter().map(|p| nodes[p]).collect(),
        Err(stuck) => {
            let stuck: std::collections::BTreeSet<&str> =
                stuck.iter().map(|&p| registry.mods[nodes[p].0].file.as_str()).collect();
            warn_once!(
                "the {schedule:?} systems of {} order themselves in a cycle across mods: they run in load order",
                stuck.into_iter().collect::<Vec<_>>().join(", ")
            );
            nodes
        }
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
