//! Finding mods: the `mods://` asset source over the mod folder (with a
//! watcher that reports renames as writes), the folder read at startup and
//! polled for new files, and each file's manifest read before anything is
//! compiled, so the whole set is resolved first (`resolve`).

use super::ModError;
use super::registry::{ModEntry, ModFailed, ModRegistry, ModStatus};
use super::{
    Candidate, MOD_SOURCE, ModAsset, ModLoadError, Refused, Resolution, WasmRuntime, asset, read_abi_version,
    read_manifest, resolve,
};
use bevy::asset::AssetPath;
use bevy::asset::io::{AssetSourceEvent, AssetSourceId, AssetWatcher};
use bevy::prelude::*;
use mod_api::manifest::Manifest;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How long the file watcher waits for writes to a mod file to settle
/// (a reload's latency is this, the compile, and half a frame on average
/// until the swap at the next frame boundary). Tools should replace a
/// mod file atomically (write elsewhere, then rename), as `--dev` and
/// `scripts/build-mods` do; a file copied in place in more than this time
/// may be read half-written, which fails that reload with an error, and the
/// next write event reloads the whole file.
pub const WATCH_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Resource)]
pub(crate) struct ModsDir(pub(crate) PathBuf);

/// The asset server, once it exists, for the watcher thread: a changed mod
/// file is reloaded from that thread at once instead of waiting for the next
/// frame's asset events (half a frame on average, a reload's latency).
type SharedServer = Arc<Mutex<Option<AssetServer>>>;

/// The world's hold on [`SharedServer`]. Dropped with the world, it takes
/// the server back from the watcher thread: the server owns the watcher,
/// whose thread would otherwise keep the server, and so the watcher and
/// its file handles, alive forever.
#[derive(Resource)]
pub(crate) struct DirectReload(SharedServer);

impl Drop for DirectReload {
    fn drop(&mut self) {
        if let Ok(mut server) = self.0.lock() {
            server.take();
        }
    }
}

/// Hands the asset server to the watcher thread (see [`DirectReload`]).
fn connect_direct_reload(server: Res<AssetServer>, direct: Res<DirectReload>) {
    if let Ok(mut slot) = direct.0.lock() {
        *slot = Some(server.clone());
    }
}

/// Wraps an asset watcher so a file renamed within the mod folder counts as
/// a write of its new name, and a written mod file is reloaded from the
/// watcher's thread (once `direct` holds the asset server).
///
/// NOTE: a careful build tool writes a mod next to its place and renames it
/// in (`scripts/build-mods`, `--dev`), so the game never reads half a file.
/// When both names are in the watched folder, the watcher reports a rename,
/// and Bevy's asset server (0.19) reloads nothing on a rename: the new
/// version would be missed whenever the watcher saw the two halves of the
/// write in different batches, as it does on a loaded machine.
pub(crate) fn renames_as_writes<W>(
    mut watcher: W,
    direct: SharedServer,
) -> impl FnMut(async_channel::Sender<AssetSourceEvent>) -> Option<Box<dyn AssetWatcher>> + Send + Sync + 'static
where
    W: FnMut(async_channel::Sender<AssetSourceEvent>) -> Option<Box<dyn AssetWatcher>> + Send + Sync + 'static,
{
    move |server: async_channel::Sender<AssetSourceEvent>| {
        let (sender, events) = async_channel::unbounded();
        let inner = watcher(sender)?;
        let direct = direct.clone();
        // Ends when the watcher is dropped (its sender with it).
        let forward = std::thread::Builder::new().name("mod-watch".into()).spawn(move || {
            while let Ok(event) = events.recv_blocking() {
                let event = match event {
                    AssetSourceEvent::RenamedAsset { new, .. } => AssetSourceEvent::ModifiedAsset(new),
                    other => other,
                };
                // Bevy would do the same `reload` at its next frame (it
                // reloads nothing that is not loaded: a new mod file is found
                // by `discover_new_mods`).
                if let AssetSourceEvent::ModifiedAsset(path) | AssetSourceEvent::AddedAsset(path) = &event
                    && path.extension().is_some_and(|x| x == "wasm")
                    && let Some(assets) = direct.lock().ok().and_then(|s| s.clone())
                {
                    assets.reload(AssetPath::from(path.clone()).with_source(AssetSourceId::from(MOD_SOURCE)));
                    continue;
                }
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

/// The mod API version this host offers, for manifests' `api` requirement.
pub fn api_version() -> semver::Version {
    semver::Version::new(mod_api::abi::ABI_MAJOR.into(), mod_api::abi::ABI_MINOR.into(), 0)
}

/// What stands in for the manifest of a file that has none (a mod built
/// before ABI 1.3, or by hand): its file stem as id, any version, no
/// dependencies. A file that cannot be read or is not wasm gets one too;
/// its loader reports why.
pub(crate) fn implicit_manifest(file: &str) -> Manifest {
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
pub(crate) fn discover_mods(
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
    let is_candidate = |file: &str| candidates.iter().any(|c| c.file == file);
    let order: Vec<&String> = resolution.order.iter().filter(|f| is_candidate(f)).collect();
    if !order.is_empty() {
        info!("load order: {}", order.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "));
    }
    for file in order {
        let path = AssetPath::from(file.clone()).with_source(AssetSourceId::from(MOD_SOURCE));
        registry.mods.push(ModEntry::new(file, manifest_of(file), Ok(server.load::<ModAsset>(path))));
    }
    for Refused { file, error } in resolution.refused.into_iter().filter(|r| is_candidate(&r.file)) {
        error!("mod {file} left out: {error}");
        failed.write(ModFailed { file: file.clone(), error: error.clone() });
        let error = ModError::LeftOut { module: file.clone(), cause: error };
        registry.mods.push(ModEntry::new(&file, manifest_of(&file), Err(error)));
    }
}

/// How often the mod folder is looked at for new files.
const NEW_MOD_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Loads `*.wasm` files that appear in the mod folder while the game runs
/// (say from `scripts/new-mod`): they are resolved against the mods there
/// and, if they can run, start once compiled, after the mods already there.
pub(crate) fn discover_new_mods(
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
    let present = registry.mods.iter().filter(|m| m.instance().is_some() || m.status() == ModStatus::Loading);
    let present = present.map(ModEntry::candidate);
    let all: Vec<Candidate> = present.chain(fresh.iter().cloned()).collect();
    let resolution = resolve(&all, &api_version());
    add_mods(&mut registry, &server, &mut failed, &fresh, resolution);
}

/// Finding and compiling mods: the `mods://` asset source over the mod
/// folder, the compilers ([`WasmRuntime`]) and the asset loader, the folder
/// read at startup and polled for new files.
pub struct ModDiscoveryPlugin {
    /// The folder whose `*.wasm` files are loaded, each as one mod.
    pub mods_dir: PathBuf,
    /// CPU, memory and quota limits for every mod.
    pub limits: super::ModLimits,
    /// Where compiled code is kept between runs, if anywhere.
    pub cache: Option<super::CodeCache>,
}

impl Plugin for ModDiscoveryPlugin {
    fn build(&self, app: &mut App) {
        use bevy::asset::io::{AssetSource, AssetSourceBuilder};
        let dir = self.mods_dir.to_string_lossy().into_owned();
        // NOTE: like `AssetSourceBuilder::platform_default`, with a short debounce
        // so a rebuilt mod is swapped in quickly.
        let direct = SharedServer::default();
        let source = AssetSourceBuilder::new(AssetSource::get_default_reader(dir.clone()))
            .with_watcher(renames_as_writes(
                AssetSource::get_default_watcher(dir.clone(), WATCH_DEBOUNCE),
                direct.clone(),
            ))
            .with_watch_warning(AssetSource::get_default_watch_warning());
        app.register_asset_source(MOD_SOURCE, source);
        let mut runtime = WasmRuntime::new(self.limits.clone());
        if let Some(cache) = &self.cache {
            runtime = runtime.with_cache(cache.clone());
        }
        app.insert_resource(runtime)
            .insert_resource(ModsDir(self.mods_dir.clone()))
            .init_resource::<ModRegistry>()
            .add_message::<ModFailed>()
            .insert_resource(DirectReload(direct))
            .add_systems(Startup, (connect_direct_reload, discover_mods))
            .add_systems(
                PreUpdate,
                discover_new_mods
                    .after(super::lifecycle::control_mods)
                    .before(super::lifecycle::watch_reloads)
                    .in_set(super::ModSystems::Activate),
            );
    }

    fn finish(&self, app: &mut App) {
        let runtime = app.world().resource::<WasmRuntime>().clone();
        app.init_asset::<ModAsset>().register_asset_loader(super::ModLoader { runtime });
    }
}
