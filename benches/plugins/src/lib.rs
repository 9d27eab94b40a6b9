//! The `plugins` benchmark: the same workloads run by every way a program
//! takes plugins, side by side (see `BENCHMARKS.md` at the repository root).
//!
//! The systems, each in its own module:
//! - [`native`]: plain Bevy systems, compiled into the game: the baseline.
//! - [`wasm_mod`]: this project's wasm mods, run by the engine's runtime.
//! - [`lua`]: Lua 5.4 through mlua.
//! - [`rhai`]: Rhai scripts.
//! - [`dylib`]: a native dynamic library with a C ABI, loaded with libloading.
//! - [`rpc`]: an out-of-process plugin over a Unix socket, with
//!   serde-encoded (postcard) messages.
//! - [`json_boundary`]: a wasm guest that gets and returns every entity as
//!   JSON, one call each.
//!
//! Native Bevy and wasm mods work on the ECS directly. Every other system is
//! a [`Guest`]: the host gathers the bodies' columns from the ECS
//! ([`Bodies::gather`]), hands them to the plugin in the plugin's own way,
//! and writes the results back ([`Bodies::scatter`]).
//!
//! The workloads themselves are in the `plugin-workload` crate, written once
//! and compiled into every system that runs Rust; `scripts/workload.lua` and
//! `scripts/workload.rhai` translate them line by line.

use bevy::prelude::*;
pub use plugin_workload as workload;
use rocks_api::{Transform2d, Velocity};
use std::path::{Path, PathBuf};
use workload::{Ping, Pong, V2};

#[cfg(test)]
mod conformance;
pub mod dylib;
pub mod json_boundary;
pub mod lua;
pub mod native;
pub mod rhai;
pub mod rpc;
pub mod wasm_mod;

/// The bodies' columns as the host hands them to a [`Guest`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    pub pos: Vec<V2>,
    pub vel: Vec<V2>,
}

impl Columns {
    /// The deterministic start state of `n` bodies ([`workload::bodies`]).
    pub fn start(n: usize) -> Columns {
        let (pos, vel) = workload::bodies(n);
        Columns { pos, vel }
    }
}

/// A plugin system the host drives through [`Columns`] and message slices.
///
/// Each call is what that system's host does for one frame of the
/// workload: for example the Lua host copies the columns into Lua tables,
/// calls the script, and copies the results out.
pub trait Guest {
    /// Everything from the plugin's file to a plugin ready for its first
    /// call (read, compile, load, start).
    fn load(file: &Path) -> Result<Self, String>
    where
        Self: Sized;
    /// One host → plugin call that does nothing.
    fn call_empty(&mut self);
    /// `pos += vel × dt` for every body ([`workload::integrate`]). Also
    /// counts one frame in the plugin's own state ([`Guest::frames`]).
    fn integrate(&mut self, cols: &mut Columns, dt: f32);
    /// One flocking step ([`workload::Boids::step`]).
    fn boids(&mut self, cols: &mut Columns, dt: f32);
    /// Answers every message with one ([`workload::answer`]), appended to `out`.
    fn events(&mut self, pings: &[Ping], out: &mut Vec<Pong>);
    /// The plugin's own state: the number of `integrate` calls it ran.
    fn frames(&mut self) -> u64;
    /// Replaces the plugin's code with the one in `file` while it runs,
    /// keeping its state ([`Guest::frames`]).
    fn reload(&mut self, file: &Path) -> Result<(), String>;
}

/// A world of bodies (`Transform2d` + `Velocity`) that a [`Guest`] works on.
pub struct Bodies {
    pub world: World,
    query: QueryState<(&'static mut Transform2d, &'static mut Velocity)>,
    pub cols: Columns,
}

impl Bodies {
    /// `n` bodies in the start state ([`Columns::start`]).
    pub fn new(n: usize) -> Bodies {
        let mut world = World::new();
        spawn_bodies(&mut world, n);
        let query = world.query();
        Bodies { world, query, cols: Columns::default() }
    }

    /// Copies the bodies out of the ECS into [`Bodies::cols`].
    pub fn gather(&mut self) {
        let Columns { pos, vel } = &mut self.cols;
        pos.clear();
        vel.clear();
        for (t, v) in self.query.iter(&self.world) {
            pos.push(t.translation.to_array());
            vel.push(v.0.to_array());
        }
    }

    /// Writes [`Bodies::cols`] back into the ECS (positions and velocities).
    pub fn scatter(&mut self) {
        for ((mut t, mut v), (p, w)) in
            self.query.iter_mut(&mut self.world).zip(self.cols.pos.iter().zip(&self.cols.vel))
        {
            t.translation = Vec2::from_array(*p);
            v.0 = Vec2::from_array(*w);
        }
    }

    /// One frame of `integrate` by `guest`: gather, call, scatter.
    pub fn integrate(&mut self, guest: &mut (impl Guest + ?Sized)) {
        self.gather();
        guest.integrate(&mut self.cols, workload::DT);
        self.scatter();
    }

    /// One frame of `boids` by `guest`: gather, call, scatter.
    pub fn boids(&mut self, guest: &mut (impl Guest + ?Sized)) {
        self.gather();
        guest.boids(&mut self.cols, workload::DT);
        self.scatter();
    }
}

/// Spawns `n` bodies in the start state into `world`.
pub fn spawn_bodies(world: &mut World, n: usize) {
    let Columns { pos, vel } = Columns::start(n);
    world.spawn_batch(
        pos.into_iter().zip(vel).map(|(p, v)| (Transform2d::from_xy(p[0], p[1]), Velocity(Vec2::from_array(v)))),
    );
}

/// The bodies of `world` as columns, in query order.
pub fn read_bodies(world: &mut World) -> Columns {
    let mut cols = Columns::default();
    for (t, v) in world.query::<(&Transform2d, &Velocity)>().iter(world) {
        cols.pos.push(t.translation.to_array());
        cols.vel.push(v.0.to_array());
    }
    cols
}

/// The reference result of one frame of a workload on `n` bodies, computed
/// by the workload code directly.
pub fn reference_integrate(n: usize, frames: usize) -> Columns {
    let mut c = Columns::start(n);
    for _ in 0..frames {
        workload::integrate(&mut c.pos, &c.vel, workload::DT);
    }
    c
}

/// The reference result of `frames` boids steps on `n` bodies.
pub fn reference_boids(n: usize, frames: usize) -> Columns {
    let mut c = Columns::start(n);
    let mut boids = workload::Boids::default();
    for _ in 0..frames {
        boids.step(&mut c.pos, &mut c.vel, workload::DT);
    }
    c
}

/// Checks `got` against `want`: positions and velocities within
/// `tolerance` (scripts compute in f64 and sum in another order).
pub fn check_columns(what: &str, got: &Columns, want: &Columns, tolerance: f32) -> Result<(), String> {
    workload::check_close(&format!("{what} positions"), &got.pos, &want.pos, tolerance)?;
    workload::check_close(&format!("{what} velocities"), &got.vel, &want.vel, tolerance)
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository exists")
}

/// Cargo's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"))
}

/// A file of this benchmark's own (`benches/plugins/…`).
pub fn bench_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// How a guest is built.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// For this machine, in release mode (dylibs, the RPC child).
    Native,
    /// For wasm32-unknown-unknown in release mode (the JSON guest, which
    /// stands for another system's wasm plugins).
    Wasm,
    /// A mod: for wasm32-unknown-unknown with the mods' profile (`mod`), as
    /// mods ship.
    Mod,
}

/// Builds `package` as `how` says.
pub fn cargo_build(package: &str, how: Build) {
    let mut cargo = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(repo()).args(["build", "-p", package]);
    match how {
        Build::Native => cargo.args(["--release"]),
        Build::Wasm => cargo.args(["--release", "--target", "wasm32-unknown-unknown"]),
        Build::Mod => cargo.args(["--profile", "mod", "--target", "wasm32-unknown-unknown"]),
    };
    let status = cargo.status().unwrap_or_else(|e| panic!("cannot run cargo to build {package}: {e}"));
    assert!(status.success(), "building {package} failed");
}

/// Builds library `package` ([`cargo_build`]) and returns its file:
/// `name.wasm` or `libname.so`.
pub fn build(package: &str, how: Build) -> PathBuf {
    cargo_build(package, how);
    let lib = package.replace('-', "_");
    match how {
        Build::Native => target_dir().join("release").join(format!("lib{lib}.so")),
        Build::Wasm => target_dir().join("wasm32-unknown-unknown/release").join(format!("{lib}.wasm")),
        Build::Mod => target_dir().join("wasm32-unknown-unknown/mod").join(format!("{lib}.wasm")),
    }
}

/// Where criterion writes this benchmark's output: `$CRITERION_HOME`
/// (`scripts/bench-plugins` gives the benchmark a directory of its own,
/// as the engine's benches use some of the same group names), else the
/// target directory's `criterion`.
pub fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME").map(PathBuf::from).unwrap_or_else(|| target_dir().join("criterion"))
}

/// A copy of `file` at a path no plugin was loaded from before, for the
/// load and reload benchmarks: a dynamic library must have a new path to be
/// loaded again (the loader hands out the loaded one for a known path), and
/// every system gets the same treatment. Keeps the last few copies of each
/// file and deletes older ones.
pub fn fresh_copy(file: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    const KEEP: u64 = 8;
    let dir = std::env::temp_dir().join(format!("plugins-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("can create the temporary directory");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = |n: u64| {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let ext = file.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        dir.join(format!("{stem}-{n}{ext}"))
    };
    if n >= KEEP {
        let _ = std::fs::remove_file(name(n - KEEP));
    }
    let copy = name(n);
    std::fs::copy(file, &copy).unwrap_or_else(|e| panic!("cannot copy {}: {e}", file.display()));
    copy
}
