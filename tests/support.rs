//! Test support: builds the real mods for wasm once per test process, and
//! runs the real engine headless on a chosen set of them.

use engine::bevy::prelude::*;
use engine::runtime::{ModRegistry, ModStatus};
use rocks_game::{GameConfig, build_app};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Builds every mod with `scripts/build-mods` (into its own target dir, so
/// it never waits on the cargo that runs the tests) and returns the folder
/// holding the `.wasm` files.
pub fn built_mods() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("target"))
            .join("mod-build");
        let status = std::process::Command::new(repo().join("scripts/build-mods"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("scripts/build-mods runs");
        assert!(status.success(), "building the mods failed");
        target.join("wasm32-unknown-unknown/mod")
    })
}

/// The bytes of built mod `name`.
pub fn mod_bytes(name: &str) -> Vec<u8> {
    std::fs::read(built_mods().join(format!("{name}.wasm"))).expect("mod was built")
}

/// Built mod `name` as a new version: the same code with a custom section
/// that no other call gives, as a rebuild after an edit gives other bytes.
/// (A file written again with the same bytes is not a new version.)
pub fn new_version(name: &str) -> Vec<u8> {
    revised(&mod_bytes(name))
}

/// `bytes` (a wasm module) with a custom section `test-revision` appended
/// whose contents no other call gives: a different file that runs the same.
pub fn revised(bytes: &[u8]) -> Vec<u8> {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let name = b"test-revision";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(&n.to_le_bytes());
    payload.extend_from_slice(&std::process::id().to_le_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section
    out.push(payload.len() as u8); // LEB128 size, < 128
    out.extend_from_slice(&payload);
    out
}

/// A fresh mod folder holding copies of the named built mods.
pub fn mod_dir(mods: &[&str]) -> TempDir {
    let dir = TempDir::new();
    for m in mods {
        std::fs::write(dir.path().join(format!("{m}.wasm")), mod_bytes(m)).unwrap();
    }
    dir
}

/// A temporary folder, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty folder no other test (of this process or another) has:
    /// named by process id, a per-process counter and the clock, and created
    /// with `create_dir`, which fails rather than share an existing folder.
    pub fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let p = std::env::temp_dir().join(format!(
                "wasm-mods-test-{}-{n}-{}",
                std::process::id(),
                nanos.as_nanos() % 1_000_000_000
            ));
            match std::fs::create_dir(&p) {
                Ok(()) => return TempDir(p),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", p.display()),
            }
        }
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A headless game over `dir`, not yet started.
pub fn headless_config(dir: &Path) -> GameConfig {
    GameConfig { mods_dir: dir.to_path_buf(), headless: true, log: false, ..Default::default() }
}

/// How long a test waits for something that takes a fixed amount of work
/// (compiling mods, a reload): only a guard against a hang, far above what a
/// cold, loaded machine needs, so no test depends on the machine's speed.
pub const HANG_GUARD: Duration = Duration::from_secs(300);

/// Builds the headless game and runs frames until every mod started or
/// failed (panics after [`HANG_GUARD`]).
pub fn start(config: &GameConfig) -> App {
    settled(build_app(config))
}

/// Finishes building `app` (any game with the modding plugins) and runs
/// frames until every mod started or failed (panics after [`HANG_GUARD`]).
pub fn settled(mut app: App) -> App {
    app.finish();
    app.cleanup();
    let t = Instant::now();
    while !app.world().resource::<ModRegistry>().settled() {
        assert!(t.elapsed() < HANG_GUARD, "mods did not load within {HANG_GUARD:?}");
        app.update();
        std::thread::sleep(Duration::from_millis(1));
    }
    app
}

/// Runs `n` frames.
pub fn run(app: &mut App, n: usize) {
    for _ in 0..n {
        app.update();
    }
}

/// The status of mod `name` (file or descriptor name).
pub fn status(app: &App, name: &str) -> ModStatus {
    app.world().resource::<ModRegistry>().get(name).unwrap_or_else(|| panic!("no mod {name}")).status()
}

/// Asserts `name` failed, with an error containing every one of `parts`.
pub fn assert_failed(app: &App, name: &str, parts: &[&str]) -> String {
    match status(app, name) {
        ModStatus::Failed(e) => {
            for p in parts {
                assert!(e.contains(p), "error of {name} should mention {p:?}: {e}");
            }
            e
        }
        other => panic!("{name} should have failed, but is {other:?}"),
    }
}

/// Replaces `dir/file` atomically (write elsewhere, rename in), as a careful
/// build tool does, so the watcher never sees a half-written file. The
/// staged copy is a hidden file of its own in `dir` (the same file system,
/// a name no other call uses), so tests replacing files at once never race.
pub fn replace(dir: &Path, file: &str, bytes: &[u8]) {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let staged = dir.join(format!(".{file}.{n}.staged"));
    std::fs::write(&staged, bytes).unwrap();
    std::fs::rename(&staged, dir.join(file)).unwrap();
}

/// Runs frames until `done` holds (panics after [`HANG_GUARD`]), returning how long it took.
pub fn until(app: &mut App, what: &str, done: impl Fn(&App) -> bool) -> Duration {
    let t = Instant::now();
    while !done(app) {
        assert!(t.elapsed() < HANG_GUARD, "timed out waiting until {what}");
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
    t.elapsed()
}

/// The registry entry of mod `file`.
pub fn entry<'a>(app: &'a App, file: &str) -> &'a engine::runtime::ModEntry {
    app.world().resource::<ModRegistry>().get(file).unwrap_or_else(|| panic!("no mod {file}"))
}

/// Declares the engine's view of a message or component an example mod
/// defines: the same `#[repr(C)]` layout under the same name.
#[macro_export]
macro_rules! mirror {
    ($trait:ident $name:ident = $path:literal { $($field:ident: $ty:ty),* $(,)? }) => {
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name {
            $(pub $field: $ty),*
        }
        // SAFETY: the same layout as the mod's type of that name.
        unsafe impl mod_api::$trait for $name {
            const NAME: &'static str = $path;
        }
    };
}

mirror!(Message CounterValue = "counter::CounterValue" { count: u64, version: u32, bonus: u32, migrations: u32, local: u32 });
mirror!(Message Ping = "census::Ping" { value: u32 });
mirror!(Message Pong = "census::Pong" { value: u32 });
mirror!(Message Census = "census::Census" { rocks: u32, large: u32 });
mirror!(Message FixedTick = "census::FixedTick" { delta: f32 });
mirror!(Component Counted = "census::Counted" { frame: u32 });
mirror!(Component TallyV1 = "counter::version::Tally" { frames: u32, scale: f32 });
mirror!(Component TallyV2 = "counter::version::Tally" { bonus: u32, scale: f32, ticks: u64 });

/// Every value of component `T` (read through its mirror) in the world.
pub fn all_of<T: mod_api::Component + bytemuck::Pod>(app: &mut App) -> Vec<T> {
    let world = app.world_mut();
    let entities: Vec<Entity> = world.query::<Entity>().iter(world).collect();
    let comps = world.resource::<engine::runtime::ModComponents>();
    entities.into_iter().filter_map(|e| comps.read::<T>(world, e)).collect()
}

/// Runs one frame and returns the counter values sent in it.
pub fn counter_frame(app: &mut App, cursor: &mut u64) -> Vec<CounterValue> {
    app.update();
    app.world_mut().resource_mut::<engine::runtime::ModMessages>().read::<CounterValue>(cursor)
}

/// A hand-written mod (ABI 1.0) whose `mod_init` returns `descriptor` (RON)
/// from its data segment, with `extra` WAT functions (other exports) added.
pub fn wat_mod_with_descriptor(extra: &str, descriptor: &str) -> Vec<u8> {
    let packed = ((descriptor.len() as u64) << 32) | 16;
    let data = descriptor.replace('"', "\\\"").replace('\n', "\\n");
    wat::parse_str(format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\00\00")
            (memory (export "memory") 2)
            (data (i32.const 16) "{data}")
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 65536)
            (func (export "mod_init") (result i64) i64.const {packed})
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0)
            {extra})"#
    ))
    .unwrap()
}
