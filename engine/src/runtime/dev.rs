//! Live editing (`--dev`): saving a mod's Rust source rebuilds that mod to
//! wasm with cargo, and the hot reload follows by itself.
//!
//! A watcher on the workspace's `mods/` folder sends changed crates to one
//! builder thread, which runs `cargo build --target wasm32-unknown-unknown`
//! (incremental, in its own target directory so it never waits on the cargo
//! that started the game) and copies each built `.wasm` whose name is in the
//! game's mod folder into it, atomically. The asset watcher then reloads it.
//! A build error goes to the log and the screen ([`DevBuild`]); the game
//! keeps running the last good version.

use bevy::prelude::*;
use notify_debouncer_full::{DebounceEventResult, new_debouncer, notify::RecursiveMode};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// Rebuilds mods from source when it changes.
pub struct DevBuildPlugin {
    /// The cargo workspace whose `mods/*` crates are the mods' sources.
    pub workspace: PathBuf,
    /// The game's mod folder: built mods whose file is here are copied in.
    pub mods_dir: PathBuf,
}

/// What live editing is doing, for the HUD and tests.
#[derive(Resource, Default, Debug, Clone)]
pub struct DevBuild {
    /// Builds finished (successful or not).
    pub builds: u32,
    /// The crates being built now.
    pub building: Vec<String>,
    /// The last build's errors (the compiler's first error lines), if it failed.
    pub last_error: Option<String>,
    /// How long the last build took.
    pub last_duration: Option<Duration>,
}

enum BuildEvent {
    Started(Vec<String>),
    Finished { crates: Vec<String>, result: Result<(), String>, took: Duration },
}

#[derive(Resource)]
struct DevChannel(Mutex<Receiver<BuildEvent>>);

/// A crate under `mods/`: its name and whether it is a mod (a `cdylib`).
fn mod_crates(workspace: &Path) -> Vec<(String, PathBuf, bool)> {
    let mut crates = Vec::new();
    let Ok(entries) = std::fs::read_dir(workspace.join("mods")) else { return crates };
    for dir in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let name = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = \"").and_then(|r| r.strip_suffix('"')))
            .map(str::to_string);
        if let Some(name) = name {
            crates.push((name, dir, manifest.contains("cdylib")));
        }
    }
    crates
}

/// The mods to rebuild when `path` changed: its crate if it is a mod, or
/// every mod if it is a library crate (mods may depend on it).
fn affected(crates: &[(String, PathBuf, bool)], path: &Path) -> Vec<String> {
    if path.extension().is_none_or(|x| x != "rs" && x != "toml") {
        return Vec::new();
    }
    match crates.iter().find(|(_, dir, _)| path.starts_with(dir)) {
        Some((name, _, true)) => vec![name.clone()],
        Some((_, _, false)) => crates.iter().filter(|c| c.2).map(|c| c.0.clone()).collect(),
        None => Vec::new(),
    }
}

fn dev_target_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target")).join("dev-mods")
}

/// Builds `crates` and copies the results that the game loads into `mods_dir`.
fn build(workspace: &Path, mods_dir: &Path, crates: &[String]) -> Result<(), String> {
    let target = dev_target_dir(workspace);
    let mut cmd = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown", "--message-format", "short"])
        .arg("--target-dir")
        .arg(&target);
    for c in crates {
        cmd.args(["-p", c]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).take(8).collect();
        return Err(if errors.is_empty() { stderr.trim().to_string() } else { errors.join("\n") });
    }
    for c in crates {
        let file = format!("{}.wasm", c.replace('-', "_"));
        if !mods_dir.join(&file).exists() {
            continue; // built, but not a mod this game loads
        }
        let built = target.join("wasm32-unknown-unknown/release").join(&file);
        let staged = mods_dir.join(format!(".{file}.partial"));
        std::fs::copy(&built, &staged).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
        std::fs::rename(&staged, mods_dir.join(&file)).map_err(|e| format!("cannot replace {file}: {e}"))?;
    }
    Ok(())
}

/// The builder thread: waits for changed crates, coalesces bursts, builds.
fn builder(workspace: PathBuf, mods_dir: PathBuf, requests: Receiver<Vec<String>>, events: Sender<BuildEvent>) {
    while let Ok(first) = requests.recv() {
        let mut crates: BTreeSet<String> = first.into_iter().collect();
        std::thread::sleep(Duration::from_millis(30));
        while let Ok(more) = requests.try_recv() {
            crates.extend(more);
        }
        let crates: Vec<String> = crates.into_iter().collect();
        let _ = events.send(BuildEvent::Started(crates.clone()));
        let t = Instant::now();
        let result = build(&workspace, &mods_dir, &crates);
        let _ = events.send(BuildEvent::Finished { crates, result, took: t.elapsed() });
    }
}

impl Plugin for DevBuildPlugin {
    fn build(&self, app: &mut App) {
        let (workspace, mods_dir) = (self.workspace.clone(), self.mods_dir.clone());
        let crates = mod_crates(&workspace);
        let (req_tx, req_rx) = channel::<Vec<String>>();
        let (ev_tx, ev_rx) = channel::<BuildEvent>();
        let watched = workspace.join("mods");
        let watcher_crates = crates.clone();
        let watcher_tx = req_tx.clone();
        let debouncer = new_debouncer(Duration::from_millis(50), None, move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let changed: BTreeSet<String> =
                events.iter().flat_map(|e| e.paths.iter()).flat_map(|p| affected(&watcher_crates, p)).collect();
            if !changed.is_empty() {
                let _ = watcher_tx.send(changed.into_iter().collect());
            }
        });
        match debouncer {
            Ok(mut debouncer) => match debouncer.watch(&watched, RecursiveMode::Recursive) {
                Ok(()) => {
                    info!("dev mode: rebuilding mods when {} changes", watched.display());
                    // The watcher lives as long as the app.
                    std::mem::forget(debouncer);
                }
                Err(e) => error!("dev mode: cannot watch {}: {e}", watched.display()),
            },
            Err(e) => error!("dev mode: cannot start the file watcher: {e}"),
        }
        // Warm the incremental build, so the first edit rebuilds quickly.
        let _ = req_tx.send(crates.iter().filter(|c| c.2).map(|c| c.0.clone()).collect());
        std::thread::Builder::new()
            .name("mod-builder".into())
            .spawn(move || builder(workspace, mods_dir, req_rx, ev_tx))
            .expect("can spawn the builder thread");
        app.init_resource::<DevBuild>()
            .insert_resource(DevChannel(Mutex::new(ev_rx)))
            .add_systems(First, report_builds);
    }
}

fn report_builds(channel: Res<DevChannel>, mut status: ResMut<DevBuild>) {
    let Ok(rx) = channel.0.lock() else { return };
    while let Ok(event) = rx.try_recv() {
        match event {
            BuildEvent::Started(crates) => {
                info!("dev mode: building {}", crates.join(", "));
                status.building = crates;
            }
            BuildEvent::Finished { crates, result, took } => {
                status.builds += 1;
                status.building.clear();
                status.last_duration = Some(took);
                match result {
                    Ok(()) => {
                        info!("dev mode: built {} in {took:.1?}", crates.join(", "));
                        status.last_error = None;
                    }
                    Err(e) => {
                        error!(
                            "dev mode: building {} failed; the last good version keeps running:\n{e}",
                            crates.join(", ")
                        );
                        status.last_error = Some(format!("build of {} failed:\n{e}", crates.join(", ")));
                    }
                }
            }
        }
    }
}
