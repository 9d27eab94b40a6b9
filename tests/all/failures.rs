//! Broken files and failing mods: each gets an error naming the file (or
//! mod) and the cause, in the registry (and so the report and the screen);
//! the other mods and the game keep running.

use engine::bevy::prelude::*;
use engine::runtime::ModStatus;
use rocks_api::{Transform2d, Velocity};
use tests::*;

/// A mover entity, to prove the good mod still runs.
fn moved_after(app: &mut App, frames: usize) -> f32 {
    let e = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X * 60.0))).id();
    run(app, frames);
    app.world().get::<Transform2d>(e).unwrap().translation.x
}

fn with_mover(broken: &[(&str, Vec<u8>)]) -> (TempDir, App) {
    let dir = mod_dir(&["mover"]);
    for (file, bytes) in broken {
        std::fs::write(dir.path().join(file), bytes).unwrap();
    }
    let app = start(&headless_config(dir.path()));
    (dir, app)
}

const ABI_1_0: &str = r#"(@custom "bevy_mod_abi" "\01\00\00\00")"#;

#[test]
fn a_file_that_is_not_webassembly_is_refused_by_name() {
    let (_dir, mut app) = with_mover(&[("notes.wasm", b"these are not the bytes you are looking for".to_vec())]);
    assert_failed(&app, "notes.wasm", &["notes.wasm", "not a WebAssembly module"]);
    assert!(moved_after(&mut app, 30) > 20.0, "the other mod keeps running");
}

#[test]
fn a_truncated_module_is_refused_by_name() {
    let mut bytes = mod_bytes("mover");
    bytes.truncate(bytes.len() / 2);
    let (_dir, mut app) = with_mover(&[("half.wasm", bytes)]);
    assert_failed(&app, "half.wasm", &["half.wasm", "not a WebAssembly module"]);
    assert!(moved_after(&mut app, 30) > 20.0);
}

#[test]
fn a_mod_built_for_another_abi_is_refused_naming_both_versions() {
    let mut bytes = mod_bytes("mover");
    let name = b"bevy_mod_abi";
    let at = bytes.windows(name.len()).position(|w| w == name).expect("mods carry the ABI section") + name.len();
    bytes[at..at + 4].copy_from_slice(&[9, 0, 2, 0]);
    let (_dir, mut app) = with_mover(&[("future.wasm", bytes)]);
    let host = format!("ABI {}.{}", mod_api::abi::ABI_MAJOR, mod_api::abi::ABI_MINOR);
    assert_failed(&app, "future.wasm", &["future.wasm", "ABI 9.2", &host]);
    assert!(moved_after(&mut app, 30) > 20.0);
}

#[test]
fn a_mod_needing_a_newer_minor_abi_is_refused_and_an_older_minor_accepted() {
    let with_version = |major: u16, minor: u16| {
        let mut bytes = mod_bytes("mover");
        let name = b"bevy_mod_abi";
        let at = bytes.windows(name.len()).position(|w| w == name).unwrap() + name.len();
        bytes[at..at + 2].copy_from_slice(&major.to_le_bytes());
        bytes[at + 2..at + 4].copy_from_slice(&minor.to_le_bytes());
        bytes
    };
    let (major, minor) = (mod_api::abi::ABI_MAJOR, mod_api::abi::ABI_MINOR);
    let (_dir, app) = with_mover(&[("newer.wasm", with_version(major, minor + 1))]);
    assert_failed(&app, "newer.wasm", &["newer.wasm", &format!("ABI {major}.{}", minor + 1)]);
    // Alone: beside mover.wasm this copy of mover would be a second mod with id "mover".
    let dir = mod_dir(&[]);
    std::fs::write(dir.path().join("older.wasm"), with_version(major, 0)).unwrap();
    let app = start(&headless_config(dir.path()));
    assert_eq!(status(&app, "older.wasm"), ModStatus::Running);
}

#[test]
fn a_module_without_the_abi_section_is_refused() {
    let wasm = wat::parse_str("(module (memory (export \"memory\") 1))").unwrap();
    let (_dir, app) = with_mover(&[("plain.wasm", wasm)]);
    assert_failed(&app, "plain.wasm", &["plain.wasm", "bevy_mod_abi", "#[mod_main]"]);
}

#[test]
fn a_module_without_the_entry_point_is_refused() {
    let wasm = wat::parse_str(format!(
        r#"(module {ABI_1_0}
            (memory (export "memory") 1)
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 0)
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0))"#
    ))
    .unwrap();
    let (_dir, mut app) = with_mover(&[("headless.wasm", wasm)]);
    assert_failed(&app, "headless.wasm", &["headless.wasm", "mod_init"]);
    assert!(moved_after(&mut app, 30) > 20.0);
}

#[test]
fn a_module_importing_what_the_host_does_not_give_is_refused() {
    let wasm = wat::parse_str(format!(
        r#"(module {ABI_1_0}
            (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 0)
            (func (export "mod_init") (result i64) i64.const 0)
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0))"#
    ))
    .unwrap();
    let (_dir, app) = with_mover(&[("clocky.wasm", wasm)]);
    assert_failed(&app, "clocky.wasm", &["clocky.wasm", "wasi_snapshot_preview1::clock_time_get"]);
}

#[test]
fn a_descriptor_that_does_not_parse_fails_the_mod_only() {
    // mod_init returns 5 bytes at offset 0: "hello", not a descriptor.
    let wasm = wat::parse_str(format!(
        r#"(module {ABI_1_0}
            (memory (export "memory") 1)
            (data (i32.const 0) "hello")
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 1024)
            (func (export "mod_init") (result i64) i64.const 0x500000000)
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0))"#
    ))
    .unwrap();
    let (_dir, mut app) = with_mover(&[("chatty.wasm", wasm)]);
    assert_failed(&app, "chatty.wasm", &["chatty.wasm", "descriptor does not parse"]);
    assert!(moved_after(&mut app, 30) > 20.0);
}

#[test]
fn a_panicking_mod_is_disabled_with_its_panic_message_and_the_rest_runs_on() {
    let dir = mod_dir(&["faulty", "mover"]);
    let mut app = start(&headless_config(dir.path()));
    assert_eq!(status(&app, "faulty"), ModStatus::Running);
    let moved = moved_after(&mut app, 30);
    // The message, then where it was raised (the SDK's panic hook).
    assert_failed(
        &app,
        "faulty",
        &["faulty", "faulty::tick", "panicked: the faulty mod gives up on run 3 (at mods/faulty/src/lib.rs:10:9)"],
    );
    assert!(moved > 20.0, "mover kept moving after faulty failed");
    assert_eq!(status(&app, "mover"), ModStatus::Running);
}

#[test]
fn a_missing_mod_folder_is_reported_and_the_game_runs() {
    let dir = TempDir::new();
    let config = headless_config(&dir.path().join("no-such-folder"));
    let mut app = start(&config);
    run(&mut app, 10);
    assert!(app.world().resource::<engine::runtime::ModRegistry>().mods.is_empty());
}

#[test]
fn a_mod_writing_a_message_the_game_exposes_read_only_is_refused_at_load() {
    // Rocks lets mods read collisions, not forge them.
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "forger", version: "1.0.0", components: [],
            messages: [(name: "rocks_api::Collision", size: 16, align: 8)],
            systems: [(name: "forger::forge", schedule: Update, params: [MessageWriter(message: 0)])])"#,
    );
    let (_dir, mut app) = with_mover(&[("forger.wasm", wasm)]);
    assert_failed(&app, "forger.wasm", &["forger.wasm", "forger::forge", "message rocks_api::Collision", "read-only"]);
    assert!(moved_after(&mut app, 30) > 20.0, "the other mod keeps running");
}

#[test]
fn a_mod_redeclaring_a_game_message_with_another_layout_fails_alone() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "impostor", version: "1.0.0", components: [], systems: [],
            messages: [(name: "rocks_api::Collision", size: 4, align: 4)])"#,
    );
    let (_dir, mut app) = with_mover(&[("impostor.wasm", wasm)]);
    assert_failed(&app, "impostor.wasm", &["impostor", "rocks_api::Collision", "4 bytes", "16 bytes"]);
    // The game still sends collisions to the mods.
    let layer = 1;
    app.world_mut().spawn((Transform2d::default(), rocks_api::Collider { radius: 5.0, layer, mask: layer }));
    app.world_mut().spawn((Transform2d::default(), rocks_api::Collider { radius: 5.0, layer, mask: layer }));
    run(&mut app, 1);
    let mut cursor = 0;
    let hits = app.world_mut().resource_mut::<engine::runtime::ModMessages>().read::<rocks_api::Collision>(&mut cursor);
    assert_eq!(hits.len(), 2, "both overlapping colliders report each other");
}

#[test]
fn a_mod_redeclaring_a_game_component_with_another_layout_fails_alone() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "impostor", version: "1.0.0", messages: [], systems: [],
            components: [(name: "rocks_api::Transform2d", size: 8, align: 4)])"#,
    );
    let (_dir, mut app) = with_mover(&[("impostor.wasm", wasm)]);
    assert_failed(&app, "impostor.wasm", &["rocks_api::Transform2d", "8 bytes", "16 bytes"]);
    assert!(moved_after(&mut app, 30) > 20.0);
}
