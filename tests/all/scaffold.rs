//! `scripts/new-mod`: a modder's first minute. The new crate builds for wasm
//! and the game loads and runs it at once.

use engine::bevy::prelude::*;
use engine::runtime::ModStatus;
use rocks_api::{Label, Transform2d};
use tests::*;

/// A cargo workspace in a temporary folder, as a modder's own would be,
/// with the repository's lock file so it builds with the same versions.
fn workspace() -> TempDir {
    let ws = TempDir::new();
    std::fs::create_dir_all(ws.path().join("mods")).unwrap();
    std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"mods/*\"]\n").unwrap();
    std::fs::copy(repo().join("Cargo.lock"), ws.path().join("Cargo.lock")).unwrap();
    ws
}

fn new_mod(ws: &TempDir, args: &[&str]) -> std::process::Output {
    // The wasm build shares the target directory the `--dev` builds use.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("dev-mods");
    std::process::Command::new(repo().join("scripts/new-mod"))
        .args(args)
        .arg("--workspace")
        .arg(ws.path())
        .arg("--mods-dir")
        .arg(ws.path().join("out"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("scripts/new-mod runs")
}

#[test]
fn a_new_mod_builds_and_loads_at_once() {
    let ws = workspace();
    let out = new_mod(&ws, &["hello-world"]);
    assert!(out.status.success(), "new-mod failed: {}", String::from_utf8_lossy(&out.stderr));
    for file in ["Cargo.toml", "mod.ron", "src/lib.rs", "README.md"] {
        assert!(ws.path().join("mods/hello-world").join(file).is_file(), "{file} was created");
    }
    // What every new mod starts from: the template's size is deterministic
    // (BENCHMARKS.md, "Mod sizes"): at most issue 15's 24 KiB.
    let size = std::fs::metadata(ws.path().join("out/hello_world.wasm")).unwrap().len();
    assert!(size <= 24 << 10, "the template mod is {size} bytes, over its ceiling of 24 KiB");
    let mut app = start(&headless_config(&ws.path().join("out")));
    let m = entry(&app, "hello_world.wasm");
    assert_eq!((m.status(), m.name.as_str(), m.version.as_str()), (ModStatus::Running, "hello-world", "0.1.0"));
    run(&mut app, 5);
    let world = app.world_mut();
    let labels: Vec<String> = world.query::<&Label>().iter(world).map(|l| l.text().to_string()).collect();
    assert_eq!(labels, ["hello from hello-world"]);
    let spinning =
        |world: &mut World| world.query::<&Transform2d>().iter(world).map(|t| t.rotation).fold(0.0f32, f32::max);
    let before = spinning(app.world_mut());
    run(&mut app, 5);
    assert!(spinning(app.world_mut()) > before, "the square spins");
}

#[test]
fn a_bad_id_or_an_existing_mod_is_refused_with_the_fix() {
    let ws = workspace();
    let out = new_mod(&ws, &["Bad Name"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"Bad Name\" is not a valid mod id") && err.contains("lowercase letters"), "{err}");
    std::fs::create_dir_all(ws.path().join("mods/taken")).unwrap();
    let out = new_mod(&ws, &["taken"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists: pick another id"));
}
