//! Live editing (`--dev`): saving a mod's source rebuilds it with cargo and
//! the hot reload follows; a build error is reported and the last good
//! version keeps running.

use engine::bevy::prelude::*;
use engine::runtime::ModMessages;
use engine::runtime::dev::DevBuild;
use std::time::{Duration, Instant};
use tests::*;

tests::mirror!(Message Beacon = "probe::Beacon" { value: u32 });

fn probe_source(value: &str) -> String {
    format!(
        r#"use mod_api::prelude::*;
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct Beacon {{ pub value: u32 }}
fn beacon(mut out: MessageWriter<Beacon>) {{ out.write(Beacon {{ value: {value} }}); }}
#[mod_main]
fn main(app: &mut App) {{ app.add_systems(Update, beacon); }}
"#
    )
}

/// Runs frames until the probe sends `value` (reading every frame).
fn until_beacon(app: &mut App, cursor: &mut u64, value: u32, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        app.update();
        let seen = app.world_mut().resource_mut::<ModMessages>().read::<Beacon>(cursor);
        if seen.iter().any(|b| b.value == value) {
            return t.elapsed();
        }
        let dev = app.world().resource::<DevBuild>();
        assert!(t.elapsed() < limit, "no beacon {value} within {limit:?}; dev build: {dev:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn saving_a_mod_source_rebuilds_and_reloads_it_and_a_build_error_keeps_the_last_good_version() {
    let ws = TempDir::new();
    let root = ws.path();
    std::fs::create_dir_all(root.join("mods/probe/src")).unwrap();
    std::fs::create_dir_all(root.join("out")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"mods/*\"]\n").unwrap();
    let mod_api = repo().join("mod-api");
    std::fs::write(
        root.join("mods/probe/Cargo.toml"),
        format!(
            "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nmod-api = {{ path = {:?} }}\n",
            mod_api.display().to_string()
        ),
    )
    .unwrap();
    // Reuse the workspace's lock file, so the probe builds with the same versions.
    std::fs::copy(repo().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("1")).unwrap();
    std::fs::write(root.join("mods/probe/mod.ron"), r#"(id: "probe", name: "Probe", version: "0.1.0", api: "^1.3")"#)
        .unwrap();
    // The game loads `probe.wasm`; start it with any valid mod under that name.
    std::fs::write(root.join("out/probe.wasm"), mod_bytes("mover")).unwrap();

    let mut config = headless_config(&root.join("out"));
    config.dev = Some(root.to_path_buf());
    let mut app = start(&config);
    let mut cursor = 0;
    // The first (warming) build replaces the placeholder with the source's version.
    until_beacon(&mut app, &mut cursor, 1, Duration::from_secs(600));

    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("2")).unwrap();
    let took = until_beacon(&mut app, &mut cursor, 2, Duration::from_secs(180));
    eprintln!("saved source → new code running: {took:?}");

    let builds = app.world().resource::<DevBuild>().builds;
    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("3 +")).unwrap();
    until(&mut app, "the failed build is reported", |app| {
        let dev = app.world().resource::<DevBuild>();
        dev.builds > builds && dev.last_error.is_some()
    });
    let error = app.world().resource::<DevBuild>().last_error.clone().unwrap();
    assert!(error.contains("probe") && error.contains("error"), "{error}");
    // The last good version still runs.
    until_beacon(&mut app, &mut cursor, 2, Duration::from_secs(5));
}
