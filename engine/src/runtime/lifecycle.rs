//! Mods' lives at the frame boundary (`PreUpdate`, `ModSystems::Activate`),
//! when no mod code is on the stack: the player's and game's requests
//! ([`ModControl`]), first starts (all together, once every file compiled),
//! reloads of changed files with their state, and the swap to optimized
//! code.

use super::discovery::ModsDir;
use super::registry::{Life, ModControl, ModEntry, ModFailed, ModRegistry, ModReloadFailed, ModReloaded, ModStarted};
use super::schedule::next_header;
use super::{
    Candidate, ModAsset, ModComponents, ModError, ModInstance, ModMessages, WasmRuntime, api_version, resolve,
};
use bevy::asset::{AssetLoadFailedEvent, LoadState};
use bevy::prelude::*;
use mod_api::abi::ScheduleLabel;
use mod_api::manifest::Manifest;

/// Whether `asset` may replace the running version of `file`: its manifest
/// must still resolve with every other running mod, none of which may be
/// left out by it.
fn check_new_manifest(registry: &ModRegistry, file: &str, asset: &ModAsset) -> Result<(), String> {
    let Some(new) = &asset.manifest else { return Ok(()) };
    let candidates: Vec<Candidate> =
        registry
            .mods
            .iter()
            .filter(|m| m.file == file || m.instance().is_some())
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
pub(crate) fn control_mods(
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
        match (request, &entry.life) {
            (ModControl::Disable(_), Life::Running(_)) => {
                info!("mod {} disabled", entry.file);
                entry.life.become_(|live| Life::Disabled(live.expect("a running mod has an instance")));
            }
            (ModControl::Enable(_), Life::Disabled(_)) => {
                info!("mod {} enabled", entry.file);
                entry.life.become_(|live| Life::Running(live.expect("a disabled mod has an instance")));
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
            (request, _) => info!("mod {}: {request:?} ignored, it is {:?}", entry.file, entry.status()),
        }
    }
}

/// Restarts mods whose first start failed once their file compiles anew,
/// and reports files that changed but failed to compile (the old version
/// keeps running). Changed files that compiled are swapped in by
/// [`reload_mods`].
pub(crate) fn watch_reloads(
    assets: Res<Assets<ModAsset>>,
    mut load_failed: MessageReader<AssetLoadFailedEvent<ModAsset>>,
    mut registry: ResMut<ModRegistry>,
    mut reload_failed: MessageWriter<ModReloadFailed>,
) {
    for entry in registry.mods.iter_mut().filter(|m| matches!(m.life, Life::Failed { started: false, .. })) {
        let Some(asset) = entry.handle.as_ref().and_then(|h| assets.get(h)) else { continue };
        if entry.tried != Some(asset.serial) {
            entry.life = Life::Loading;
        }
    }
    for event in load_failed.read() {
        let Some(entry) = registry.mods.iter_mut().find(|m| m.handle.as_ref().is_some_and(|h| h.id() == event.id))
        else {
            continue;
        };
        // Before the first start, `activate_mods` reports the failure itself.
        if entry.life.started() {
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
        if !entry.life.started() || entry.tried == Some(asset.serial) {
            continue;
        }
        // The file written again with the bytes that run: not a new version
        // (a watcher may report one write as several events), unless the
        // player asked for a reload.
        if entry.life.live().is_some_and(|live| live.digest == asset.digest) && !entry.forced_reload {
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
        let new =
            ModInstance::new(runtime, &asset.module, &entry.file, world, entry.instance()).and_then(|mut instance| {
                check_identity(asset.manifest.as_ref(), &instance)
                    .map_err(|cause| ModError::Descriptor { module: entry.file.clone(), cause })?;
                let warning = match entry.life.live_mut() {
                    Some(old) => instance.take_over_from(&mut old.instance, world, &mods_dir)?,
                    None => {
                        instance.skip_held_messages(world);
                        None
                    }
                };
                let migrations = instance.prepare_migrations(world)?;
                Ok((instance, warning, migrations))
            });
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
        // A new version of a disabled mod stays disabled until enabled.
        entry.run_version(instance, runtime, &asset);
        entry.reloads += 1;
        if let Some(w) = &warning {
            error!("mod {}: {w}", entry.file);
        }
        entry.last_error = warning;
        info!("mod {} reloaded from {} (reload {})", entry.name, entry.file, entry.reloads);
        world.write_message(ModReloaded { file: entry.file.clone(), reloads: entry.reloads });
        let file = entry.file.clone();
        for (j, other) in registry.mods.iter_mut().enumerate() {
            let Some(old) = other.running_instance() else { continue };
            let Some((name, _)) = changed.iter().find(|(_, id)| old.uses(*id)) else { continue };
            if j == i {
                continue;
            }
            let error =
                ModError::Waiting { module: other.file.clone(), component: name.clone(), reloaded: file.clone() };
            warn!("mod {}: {error}", other.file);
            world.write_message(ModFailed { file: other.file.clone(), error: error.to_string() });
            other.life.become_(|live| Life::Waiting(live.expect("a running mod has an instance"), error));
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
        // A mod waiting for its new version keeps what it has.
        let (Life::Running(live) | Life::Disabled(live)) = &mut entry.life else { continue };
        let Some(task) = live.tier_up.as_mut() else { continue };
        let Some(compiled) = bevy::tasks::futures::check_ready(task) else { continue };
        live.tier_up = None;
        let old = &mut live.instance;
        let swapped = compiled.map_err(|e| e.to_string()).and_then(|module| {
            let mut new =
                ModInstance::new(runtime, &module, &entry.file, world, Some(old)).map_err(|e| e.to_string())?;
            new.take_over_as_other_tier(old, world)?;
            Ok(new)
        });
        match swapped {
            Ok(new) => {
                debug!("mod {}: optimized code swapped in", entry.file);
                live.instance = new;
            }
            Err(e) => warn!("mod {}: keeps running its baseline code; the optimized code failed: {e}", entry.file),
        }
    }
}

/// At the frame boundary: instantiates mods whose compile finished, and runs
/// their `Startup` systems.
pub(crate) fn activate_mods(world: &mut World) {
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
        for entry in registry.mods.iter_mut().filter(|m| matches!(m.life, Life::Loading)) {
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
                            info!("mod {} {} started from {}", entry.name, entry.version, entry.file);
                            world.write_message(ModStarted { file: entry.file.clone(), name: entry.name.clone() });
                            entry.run_version(instance, &runtime, &asset);
                        }
                        Err(e) => fail(world, entry, e),
                    }
                }
                LoadState::Failed(err) => {
                    let error = ModError::Load { module: entry.file.clone(), cause: error_chain(&*err) };
                    fail(world, entry, error);
                }
                _ => {}
            }
        }
    });
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
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

/// Stops `entry` with `error`, dropping its instance (and so its state).
pub(crate) fn fail(world: &mut World, entry: &mut ModEntry, error: ModError) {
    let _span = info_span!("mod", file = %entry.file).entered();
    error!("mod {} failed: {error}", entry.file);
    world.write_message(ModFailed { file: entry.file.clone(), error: error.to_string() });
    entry.life = Life::Failed { started: entry.life.started(), error };
}

/// Mods' lives at the frame boundary: requests, starts, reloads and the
/// swap to optimized code, in `ModSystems::Activate`.
pub struct ModLifecyclePlugin;

impl Plugin for ModLifecyclePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ModRegistry>()
            .add_message::<ModStarted>()
            .add_message::<ModFailed>()
            .add_message::<ModReloaded>()
            .add_message::<ModReloadFailed>()
            .add_message::<ModControl>()
            .add_systems(
                PreUpdate,
                (control_mods, watch_reloads, activate_mods).chain().in_set(super::ModSystems::Activate),
            );
        // NOTE: a mod file that finished compiling is stored in `Assets` by
        // Bevy in `PreUpdate`; swapping right after it, not in the next
        // frame's `First`, makes a reload one frame quicker.
        app.configure_sets(PreUpdate, super::ModSystems::Activate.after(bevy::asset::AssetTrackingSystems));
    }
}
