//! The compile cache: a game's second start loads the mods it knows without
//! compiling them, and a bad cache entry is never loaded, only rebuilt.

use engine::runtime::{ModRegistry, ModStatus, Tier, WasmRuntime};
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
    assert_eq!(entries(dir.path(), ".baseline.cwasm").len(), 1, "the first start cached its baseline code");
    assert_eq!(entries(dir.path(), ".optimized.cwasm").len(), 1, "and its optimized code");

    let app = start(&headless_config(dir.path()));
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
    assert_eq!(tier(&app, "mover.wasm"), Tier::Optimized, "the second start skips the baseline tier");
}

#[test]
fn a_corrupt_or_truncated_entry_is_rebuilt_not_loaded() {
    let dir = mod_dir(&["mover"]);
    run_until_optimized(dir.path());
    let optimized = entries(dir.path(), ".optimized.cwasm").pop().expect("an optimized entry");
    let baseline = entries(dir.path(), ".baseline.cwasm").pop().expect("a baseline entry");
    let mut bytes = std::fs::read(&optimized).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&optimized, &bytes).unwrap();
    let good_baseline = std::fs::read(&baseline).unwrap();
    std::fs::write(&baseline, &good_baseline[..good_baseline.len() / 2]).unwrap();

    let mut app = start(&headless_config(dir.path()));
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running, "the mod compiled anew");
    assert_eq!(tier(&app, "mover.wasm"), Tier::Baseline, "neither bad entry was loaded");
    until(&mut app, "mover runs optimized code", |app| tier(app, "mover.wasm") == Tier::Optimized);
    flush(&app);
    assert_eq!(std::fs::read(&baseline).unwrap(), good_baseline, "the truncated entry was rewritten");
    assert_ne!(std::fs::read(&optimized).unwrap(), bytes, "the corrupt entry was rewritten");
}

#[test]
fn an_entry_made_by_another_compiler_is_rebuilt_not_loaded() {
    let dir = mod_dir(&["mover"]);
    run_until_optimized(dir.path());
    let optimized = entries(dir.path(), ".optimized.cwasm").pop().unwrap();
    let baseline = entries(dir.path(), ".baseline.cwasm").pop().unwrap();
    // A sound entry for this module, but of the baseline compiler's code:
    // its header and hash check out, and wasmtime must refuse it.
    std::fs::copy(&baseline, &optimized).unwrap();

    let mut app = start(&headless_config(dir.path()));
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
    until(&mut app, "mover runs optimized code", |app| tier(app, "mover.wasm") == Tier::Optimized);
    flush(&app);
    assert_ne!(std::fs::read(&optimized).unwrap(), std::fs::read(&baseline).unwrap(), "rebuilt");
    assert!(app.world().resource::<ModRegistry>().mods.iter().all(|m| m.is_running()));
}
