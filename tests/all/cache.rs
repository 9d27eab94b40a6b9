//! The compile cache: a game's second start loads the mods it knows without
//! compiling them, and a bad cache entry is never loaded, only rebuilt.

use engine::runtime::{CodeCache, ModRegistry, ModStatus, Tier, WasmRuntime};
use tests::*;

/// The cache entries in `dir` whose names end with `suffix`.
fn entries(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let Ok(read) = std::fs::read_dir(dir.join(".cache")) else { return Vec::new() };
    let mut found: Vec<_> = read.map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(suffix)).collect();
    found.sort();
    found
}

fn tier(app: &bevy::prelude::App, file: &str) -> Tier {
    entry(app, file).instance().expect("the mod runs").tier()
}

/// Waits until the game's compile cache has written what it started to.
fn flush(app: &bevy::prelude::App) {
    app.world().resource::<WasmRuntime>().cache().expect("the game keeps a compile cache").flush();
}

/// Starts the game on `dir` and runs it until `mover` runs optimized code
/// and its optimized code is in the cache.
fn run_until_optimized(dir: &std::path::Path) {
    let mut app = start(&headless_config(dir));
    until(&mut app, "mover runs optimized code", |app| tier(app, "mover.wasm") == Tier::Optimized);
    flush(&app);
}

#[test]
fn a_second_start_loads_optimized_code_from_the_cache() {
    let dir = mod_dir(&["mover"]);
    run_until_optimized(dir.path());
    assert_eq!(entries(dir.path(), ".optimized.cwasm").len(), 1, "the first start cached its optimized code");
    assert_eq!(entries(dir.path(), ".cwasm").len(), 1, "and nothing else");

    let app = start(&headless_config(dir.path()));
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
    assert_eq!(tier(&app, "mover.wasm"), Tier::Optimized, "the second start skips the baseline tier");
}

/// Starts the game on `dir`, whose cache entry for `mover` is bad: the mod
/// must start on freshly compiled (baseline) code, and the entry be
/// rewritten with sound optimized code.
fn rebuilt_not_loaded(dir: &std::path::Path, entry: &std::path::Path) {
    let bad = std::fs::read(entry).unwrap();
    let mut app = start(&headless_config(dir));
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running, "the mod compiled anew");
    assert_eq!(tier(&app, "mover.wasm"), Tier::Baseline, "the bad entry was not loaded");
    until(&mut app, "mover runs optimized code", |app| tier(app, "mover.wasm") == Tier::Optimized);
    flush(&app);
    assert_ne!(std::fs::read(entry).unwrap(), bad, "the entry was rewritten");
    assert!(app.world().resource::<ModRegistry>().mods.iter().all(|m| m.is_running()));
    drop(app);
    let app = start(&headless_config(dir));
    assert_eq!(tier(&app, "mover.wasm"), Tier::Optimized, "the rewritten entry loads");
}

#[test]
fn a_corrupt_or_truncated_entry_is_rebuilt_not_loaded() {
    let dir = mod_dir(&["mover"]);
    run_until_optimized(dir.path());
    let entry = entries(dir.path(), ".optimized.cwasm").pop().expect("an optimized entry");
    let mut bytes = std::fs::read(&entry).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&entry, &bytes).unwrap();
    rebuilt_not_loaded(dir.path(), &entry);

    let bytes = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &bytes[..bytes.len() / 2]).unwrap();
    rebuilt_not_loaded(dir.path(), &entry);
}

#[test]
fn an_entry_made_by_another_compiler_is_rebuilt_not_loaded() {
    let dir = mod_dir(&["mover"]);
    // A sound entry for this module (header and hash check out), but of the
    // baseline compiler's code: wasmtime must refuse it.
    let bytes = mod_bytes("mover");
    let runtime = WasmRuntime::new(Default::default());
    let winch = runtime.compile("mover.wasm", &bytes).expect("mover compiles");
    assert_eq!(runtime.tier_of(&winch.module), Tier::Baseline);
    let cache = CodeCache::new(dir.path().join(".cache"));
    cache.write(&CodeCache::key(&bytes), Tier::Optimized, &winch.module);
    let entry = entries(dir.path(), ".optimized.cwasm").pop().expect("the foreign entry");
    rebuilt_not_loaded(dir.path(), &entry);
}
