//! Live editing (`--dev`): saving a mod's source rebuilds that mod to
//! wasm with cargo, and the hot reload follows by itself.
//!
//! A watcher on the workspace's `mods/` folder reports files that may have
//! changed to one builder thread. The builder keeps a hash of every source
//! file (`*.rs`, `Cargo.toml`, `mod.ron`) and counts a file as edited only
//! if its bytes changed: cargo opening the sources while it builds, an
//! editor touching a file, or a save of identical text trigger nothing. An
//! edit of crate `X` rebuilds `X` if it is a mod, and every mod that depends
//! on `X` (directly or not, as `cargo metadata` reports the workspace), once;
//! edits saved while a build runs are built right after it.
//!
//! The build is `cargo build --target wasm32-unknown-unknown` (incremental,
//! in its own target directory so it never waits on the cargo that started
//! the game). Each built `.wasm` whose name is in the game's mod folder and
//! whose bytes differ from the file there is copied in atomically, and the
//! asset watcher reloads it. A build error goes to the log and the screen
//! ([`DevBuild`]); the game keeps running the last good version.

use bevy::prelude::*;
use notify_debouncer_full::notify::EventKind;
use notify_debouncer_full::{DebounceEventResult, new_debouncer, notify::RecursiveMode};
use std::collections::{BTreeSet, HashMap};
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
    /// The crates the last finished build built.
    pub last_built: Vec<String>,
    /// The mod files the last finished build changed in the mod folder
    /// (a rebuilt mod whose bytes did not change is not copied).
    pub last_copied: Vec<String>,
    /// The last build's errors (the compiler's first error lines), if it failed.
    pub last_error: Option<String>,
    /// How long the last build took.
    pub last_duration: Option<Duration>,
}

enum BuildEvent {
    Started(Vec<String>),
    Finished { crates: Vec<String>, result: Result<Vec<String>, String>, took: Duration },
}

#[derive(Resource)]
struct DevChannel(Mutex<Receiver<BuildEvent>>);

/// A crate under `mods/`.
#[derive(Clone, Debug, PartialEq)]
struct Crate {
    name: String,
    dir: PathBuf,
    /// A `cdylib`: a mod, built for wasm.
    is_mod: bool,
    /// The names of the other crates under `mods/` it depends on.
    deps: Vec<String>,
}

/// Whether `path` is a source file whose edit may need a rebuild: a `.rs`
/// file, a `Cargo.toml` or a `.ron` file (the manifest `mod.ron`), outside
/// any `target` or hidden folder.
fn is_source(mods: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(mods) else { return false };
    let hidden_or_target = rel.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c == "target" || c.starts_with('.')
    });
    let kind = path.extension().is_some_and(|x| x == "rs" || x == "ron") || path.ends_with("Cargo.toml");
    kind && !hidden_or_target
}

/// The crates under `workspace/mods`, as `cargo metadata` describes the
/// workspace (the same dependencies the build will use, including
/// `workspace = true` ones).
fn read_crates(workspace: &Path) -> Result<Vec<Crate>, String> {
    let out = std::process::Command::new(cargo())
        .current_dir(workspace)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata's output does not parse: {e}"))?;
    let mods = canonical(&workspace.join("mods"));
    let mut crates = Vec::new();
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    for p in &packages {
        let (Some(name), Some(manifest)) = (p["name"].as_str(), p["manifest_path"].as_str()) else { continue };
        let dir = canonical(Path::new(manifest).parent().unwrap_or(Path::new(".")));
        if dir.starts_with(&mods) {
            dirs.push((dir, name.to_string()));
        }
    }
    for p in &packages {
        let (Some(name), Some(manifest)) = (p["name"].as_str(), p["manifest_path"].as_str()) else { continue };
        let dir = canonical(Path::new(manifest).parent().unwrap_or(Path::new(".")));
        if !dir.starts_with(&mods) {
            continue;
        }
        let is_mod = p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["crate_types"].as_array().into_iter().flatten().any(|k| k.as_str() == Some("cdylib")));
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["path"].as_str())
            .filter_map(|path| dirs.iter().find(|(dir, _)| *dir == canonical(Path::new(path))))
            .map(|(_, name)| name.clone())
            .collect();
        crates.push(Crate { name: name.to_string(), dir, is_mod, deps });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The mods to rebuild when crate `changed` was edited: itself if it is a
/// mod, and every mod that depends on it, directly or through other crates.
fn affected(crates: &[Crate], changed: &str) -> BTreeSet<String> {
    let mut reached: BTreeSet<&str> = BTreeSet::from([changed]);
    let mut frontier = vec![changed];
    while let Some(name) = frontier.pop() {
        for c in crates.iter().filter(|c| c.deps.iter().any(|d| d == name)) {
            if reached.insert(&c.name) {
                frontier.push(&c.name);
            }
        }
    }
    crates.iter().filter(|c| c.is_mod && reached.contains(c.name.as_str())).map(|c| c.name.clone()).collect()
}

/// The crate whose folder holds `path` (the innermost, if crates nest).
fn crate_of<'a>(crates: &'a [Crate], path: &Path) -> Option<&'a Crate> {
    let path = canonical(path.parent().unwrap_or(path)).join(path.file_name().unwrap_or_default());
    crates.iter().filter(|c| path.starts_with(&c.dir)).max_by_key(|c| c.dir.components().count())
}

/// The hash of a file's bytes, `None` if it cannot be read (removed).
fn hash_file(path: &Path) -> Option<u64> {
    std::fs::read(path).ok().map(|bytes| super::asset::digest(&bytes))
}

/// Every source file under `dir` (see [`is_source`]) with its hash.
fn hash_sources(mods: &Path, dir: &Path, out: &mut HashMap<PathBuf, u64>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() && !hidden && !path.ends_with("target") {
            hash_sources(mods, &path, out);
        } else if is_source(mods, &path)
            && let Some(h) = hash_file(&path)
        {
            out.insert(path, h);
        }
    }
}

/// The mods' build profile, as the repository's `Cargo.toml` defines it
/// (`[profile.mod]` and its setting for `mod-api`), for a workspace that
/// does not define it.
pub const MOD_PROFILE: [&str; 6] = [
    "profile.mod.inherits=\"release\"",
    "profile.mod.lto=\"fat\"",
    "profile.mod.codegen-units=1",
    "profile.mod.strip=\"symbols\"",
    "profile.mod.incremental=false",
    "profile.mod.package.mod-api.opt-level=\"z\"",
];

/// Whether `workspace`'s manifest defines the mods' profile.
fn defines_mod_profile(workspace: &Path) -> bool {
    std::fs::read_to_string(workspace.join("Cargo.toml")).is_ok_and(|m| m.lines().any(|l| l.trim() == "[profile.mod]"))
}

fn dev_target_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target")).join("dev-mods")
}

/// Builds `crates`, and copies each built mod that the game loads and whose
/// bytes changed into `mods_dir`; returns the files it copied.
fn build(workspace: &Path, mods_dir: &Path, crates: &[String]) -> Result<Vec<String>, String> {
    let target = dev_target_dir(workspace);
    let mut cmd = std::process::Command::new(cargo());
    cmd.current_dir(workspace)
        .args(["build", "--profile", "mod", "--target", "wasm32-unknown-unknown", "--message-format", "short"])
        .arg("--target-dir")
        .arg(&target);
    if !defines_mod_profile(workspace) {
        for setting in MOD_PROFILE {
            cmd.args(["--config", setting]);
        }
    }
    for c in crates {
        cmd.args(["-p", c]);
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).take(8).collect();
        return Err(if errors.is_empty() { stderr.trim().to_string() } else { errors.join("\n") });
    }
    let mut copied = Vec::new();
    for c in crates {
        let file = format!("{}.wasm", c.replace('-', "_"));
        let installed = mods_dir.join(&file);
        if !installed.exists() {
            continue; // built, but not a mod this game loads
        }
        let built = target.join("wasm32-unknown-unknown/mod").join(&file);
        let bytes = std::fs::read(&built).map_err(|e| format!("cannot read {}: {e}", built.display()))?;
        if std::fs::read(&installed).is_ok_and(|old| old == bytes) {
            continue; // the same code: nothing to reload
        }
        let staged = mods_dir.join(format!(".{file}.partial"));
        std::fs::write(&staged, &bytes).map_err(|e| format!("cannot write {}: {e}", staged.display()))?;
        std::fs::rename(&staged, &installed).map_err(|e| format!("cannot replace {file}: {e}"))?;
        copied.push(file);
    }
    Ok(copied)
}

/// The builder thread's view of the sources: the crates and the hash of
/// every source file, so only real edits count.
struct Sources {
    workspace: PathBuf,
    mods: PathBuf,
    crates: Vec<Crate>,
    hashes: HashMap<PathBuf, u64>,
}

impl Sources {
    fn new(workspace: &Path) -> Self {
        let mods = workspace.join("mods");
        let mut sources = Sources { workspace: workspace.into(), mods, crates: Vec::new(), hashes: HashMap::new() };
        sources.refresh_crates();
        let mut hashes = HashMap::new();
        hash_sources(&sources.mods, &sources.mods.clone(), &mut hashes);
        sources.hashes = hashes;
        sources
    }

    fn refresh_crates(&mut self) {
        match read_crates(&self.workspace) {
            Ok(crates) => self.crates = crates,
            Err(e) => error!("dev mode: cannot read the mod crates ({e}); keeping the previous list"),
        }
    }

    /// The mods to rebuild for `paths`, each reported by the watcher: only
    /// those whose bytes changed (or that appeared or went away) count.
    fn edited(&mut self, paths: impl IntoIterator<Item = PathBuf>) -> BTreeSet<String> {
        let mut changed: Vec<PathBuf> = Vec::new();
        for path in paths {
            let now = hash_file(&path);
            let before = match now {
                Some(h) => self.hashes.insert(path.clone(), h),
                None => self.hashes.remove(&path),
            };
            if before != now {
                changed.push(path);
            }
        }
        if changed.iter().any(|p| p.ends_with("Cargo.toml")) {
            self.refresh_crates();
        }
        let mut mods = BTreeSet::new();
        for path in &changed {
            match crate_of(&self.crates, path) {
                Some(c) => mods.extend(affected(&self.crates, &c.name)),
                None => debug!("dev mode: {} changed but belongs to no crate under mods/", path.display()),
            }
        }
        mods
    }

    fn all_mods(&self) -> Vec<String> {
        self.crates.iter().filter(|c| c.is_mod).map(|c| c.name.clone()).collect()
    }
}

/// The builder thread: waits for reported paths, coalesces bursts, builds
/// the mods whose sources really changed.
fn builder(workspace: PathBuf, mods_dir: PathBuf, requests: Receiver<Vec<PathBuf>>, events: Sender<BuildEvent>) {
    // Hash the sources before the warming build: an edit made before this
    // point is in that build, one made after it is seen as a change.
    let mut sources = Sources::new(&workspace);
    let mut pending: BTreeSet<String> = sources.all_mods().into_iter().collect();
    loop {
        if pending.is_empty() {
            let Ok(first) = requests.recv() else { return };
            // Let a burst of saves (an editor writing several files) settle.
            std::thread::sleep(Duration::from_millis(30));
            let mut paths = first;
            while let Ok(more) = requests.try_recv() {
                paths.extend(more);
            }
            pending = sources.edited(paths);
            continue;
        }
        let crates: Vec<String> = std::mem::take(&mut pending).into_iter().collect();
        let _ = events.send(BuildEvent::Started(crates.clone()));
        let t = Instant::now();
        let result = build(&workspace, &mods_dir, &crates);
        let _ = events.send(BuildEvent::Finished { crates, result, took: t.elapsed() });
        // Edits saved while it built are built next.
        let mut paths = Vec::new();
        while let Ok(more) = requests.try_recv() {
            paths.extend(more);
        }
        pending = sources.edited(paths);
    }
}

impl Plugin for DevBuildPlugin {
    fn build(&self, app: &mut App) {
        let (workspace, mods_dir) = (self.workspace.clone(), self.mods_dir.clone());
        let (req_tx, req_rx) = channel::<Vec<PathBuf>>();
        let (ev_tx, ev_rx) = channel::<BuildEvent>();
        let watched = workspace.join("mods");
        let mods = watched.clone();
        let debouncer = new_debouncer(Duration::from_millis(50), None, move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            // NOTE: notify also reports files being opened and closed (cargo
            // reads every source while it builds): those are not edits.
            let paths: BTreeSet<PathBuf> = events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)))
                .flat_map(|e| e.paths.iter())
                .filter(|p| is_source(&mods, p))
                .cloned()
                .collect();
            if !paths.is_empty() {
                let _ = req_tx.send(paths.into_iter().collect());
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
                    Ok(copied) => {
                        let changed = if copied.is_empty() {
                            "no mod file changed".to_string()
                        } else {
                            format!("updated {}", copied.join(", "))
                        };
                        info!("dev mode: built {} in {took:.1?}; {changed}", crates.join(", "));
                        status.last_error = None;
                        status.last_copied = copied;
                    }
                    Err(e) => {
                        error!(
                            "dev mode: building {} failed; the last good version keeps running:\n{e}",
                            crates.join(", ")
                        );
                        status.last_error = Some(format!("build of {} failed:\n{e}", crates.join(", ")));
                        status.last_copied.clear();
                    }
                }
                status.last_built = crates;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(name: &str, is_mod: bool, deps: &[&str]) -> Crate {
        Crate {
            name: name.into(),
            dir: PathBuf::from("/ws/mods").join(name),
            is_mod,
            deps: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn an_edit_rebuilds_the_crate_and_the_mods_that_depend_on_it() {
        let crates = [
            krate("types", false, &[]),
            krate("more-types", false, &["types"]),
            krate("a", true, &["types"]),
            krate("b", true, &["more-types"]),
            krate("c", true, &[]),
        ];
        let names = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>();
        assert_eq!(names(affected(&crates, "c")), ["c"]);
        assert_eq!(names(affected(&crates, "types")), ["a", "b"]);
        assert_eq!(names(affected(&crates, "more-types")), ["b"]);
    }

    #[test]
    fn only_sources_outside_target_and_hidden_folders_count() {
        let mods = Path::new("/ws/mods");
        assert!(is_source(mods, Path::new("/ws/mods/a/src/lib.rs")));
        assert!(is_source(mods, Path::new("/ws/mods/a/mod.ron")));
        assert!(is_source(mods, Path::new("/ws/mods/a/Cargo.toml")));
        assert!(!is_source(mods, Path::new("/ws/mods/a/README.md")));
        assert!(!is_source(mods, Path::new("/ws/mods/a/target/release/build/x.rs")));
        assert!(!is_source(mods, Path::new("/ws/mods/a/.git/x.rs")));
        assert!(!is_source(mods, Path::new("/elsewhere/a/src/lib.rs")));
    }
}
