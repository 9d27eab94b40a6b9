//! Manifests: the whole set of mods is resolved before any loads. A missing,
//! mismatched or conflicting dependency leaves out only the mods that cannot
//! run, with an error that says what to install, update or remove; the rest
//! load dependencies first, then by id.

use engine::runtime::{ModRegistry, ModStatus};
use tests::*;

/// A minimal mod (ABI 1.3) with `manifest` in its manifest section and a
/// descriptor naming it `id` `version`, with one empty `Update` system.
fn mod_with_manifest(id: &str, version: &str, manifest: &str) -> Vec<u8> {
    let descriptor = format!(
        r#"(name:"{id}",version:"{version}",components:[],messages:[],systems:[(name:"tick",schedule:Update,params:[])])"#
    );
    let packed = ((descriptor.len() as u64) << 32) | 16;
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    wat::parse_str(format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\03\00")
            (@custom "bevy_mod_manifest" "{manifest}")
            (memory (export "memory") 2)
            (data (i32.const 16) "{descriptor}")
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 65536)
            (func (export "mod_init") (result i64) i64.const {packed})
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0))"#,
        manifest = escape(manifest),
        descriptor = escape(&descriptor),
    ))
    .unwrap()
}

/// A mod `id` 1.0.0 with these extra manifest fields.
fn simple(id: &str, fields: &str) -> Vec<u8> {
    mod_with_manifest(id, "1.0.0", &format!(r#"(id: "{id}", name: "{id}", version: "1.0.0", api: "^1.0", {fields})"#))
}

fn game(mods: &[(&str, Vec<u8>)]) -> (TempDir, engine::bevy::prelude::App) {
    let dir = mod_dir(&[]);
    for (file, bytes) in mods {
        std::fs::write(dir.path().join(file), bytes).unwrap();
    }
    let app = start(&headless_config(dir.path()));
    (dir, app)
}

fn load_order(app: &engine::bevy::prelude::App) -> Vec<String> {
    let registry = app.world().resource::<ModRegistry>();
    registry.mods.iter().filter(|m| m.is_running()).map(|m| m.file.clone()).collect()
}

#[test]
fn a_missing_dependency_leaves_out_only_the_mod_that_needs_it_and_says_what_to_install() {
    let dir = mod_dir(&["mover", "rules"]);
    let app = start(&headless_config(dir.path()));
    assert_failed(&app, "rules.wasm", &["rules.wasm", "needs mod rocks ^0.1", "not installed", "install rocks ^0.1"]);
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
}

#[test]
fn a_dependency_in_a_version_too_old_says_to_update_it() {
    let (_dir, app) = game(&[
        (
            "base.wasm",
            mod_with_manifest("base", "1.0.0", r#"(id: "base", name: "Base", version: "1.0.0", api: "^1.0")"#),
        ),
        ("addon.wasm", simple("addon", r#"dependencies: [(id: "base", version: "^1.2")]"#)),
    ]);
    assert_failed(&app, "addon.wasm", &["addon.wasm", "needs mod base ^1.2", "base 1.0.0 is installed", "update base"]);
    assert_eq!(status(&app, "base.wasm"), ModStatus::Running);
}

#[test]
fn an_incompatible_mod_present_is_refused_and_one_absent_is_fine() {
    let (_dir, app) = game(&[
        ("old.wasm", simple("old", "")),
        ("new.wasm", simple("new", r#"dependencies: [(id: "old", version: "*", kind: Incompatible)]"#)),
        ("calm.wasm", simple("calm", r#"dependencies: [(id: "absent", version: "*", kind: Incompatible)]"#)),
    ]);
    assert_failed(&app, "new.wasm", &["new.wasm", "incompatible with mod old 1.0.0", "remove one of them"]);
    assert_eq!(load_order(&app), ["calm.wasm", "old.wasm"]);
}

#[test]
fn a_dependency_cycle_is_refused_naming_the_mods_on_it() {
    let (_dir, app) = game(&[
        ("a.wasm", simple("a", r#"dependencies: [(id: "b", version: "*")]"#)),
        ("b.wasm", simple("b", r#"dependencies: [(id: "a", version: "*")]"#)),
        ("c.wasm", simple("c", "")),
    ]);
    for file in ["a.wasm", "b.wasm"] {
        assert_failed(&app, file, &[file, "dependency cycle", "a -> b -> a"]);
    }
    assert_eq!(load_order(&app), ["c.wasm"]);
}

#[test]
fn mods_load_and_run_dependencies_first_then_by_id_with_ordering_hints() {
    let (_dir, app) = game(&[
        ("z-lib.wasm", simple("zlib", "")),
        ("a-user.wasm", simple("auser", r#"dependencies: [(id: "zlib", version: "^1")]"#)),
        ("m-first.wasm", simple("mfirst", r#"load_before: ["zlib"]"#)),
        ("b-plain.wasm", simple("bplain", "")),
    ]);
    // Ready at first: bplain, mfirst (zlib waits for mfirst); then zlib; then auser.
    assert_eq!(load_order(&app), ["b-plain.wasm", "m-first.wasm", "z-lib.wasm", "a-user.wasm"]);
}

#[test]
fn a_manifest_with_an_unknown_field_names_the_file_and_the_field() {
    let (_dir, app) = game(&[
        (
            "typo.wasm",
            mod_with_manifest("typo", "1.0.0", r#"(id: "typo", name: "T", version: "1.0.0", api: "^1", autors: [])"#),
        ),
        ("fine.wasm", simple("fine", "")),
    ]);
    assert_failed(
        &app,
        "typo.wasm",
        &["typo.wasm", "manifest", "1:54", "`autors`", "expected one of", "fix the manifest"],
    );
    assert_eq!(status(&app, "fine.wasm"), ModStatus::Running);
}

#[test]
fn a_bad_version_string_names_the_field_and_the_fix() {
    let (_dir, app) =
        game(&[("odd.wasm", mod_with_manifest("odd", "1.x", r#"(id: "odd", name: "O", version: "1.x", api: "^1")"#))]);
    assert_failed(&app, "odd.wasm", &["odd.wasm", "field version", "\"1.x\" is not a version", "fix the version"]);
}

#[test]
fn a_manifest_that_disagrees_with_the_code_fails_that_mod() {
    let (_dir, app) = game(&[(
        "liar.wasm",
        mod_with_manifest("liar", "2.0.0", r#"(id: "liar", name: "L", version: "1.0.0", api: "^1")"#),
    )]);
    assert_failed(&app, "liar.wasm", &["liar.wasm", "manifest says mod liar 1.0.0", "code says liar 2.0.0"]);
}

#[test]
fn a_new_version_that_would_break_a_dependent_is_not_swapped_in() {
    let (dir, mut app) = game(&[
        ("base.wasm", mod_with_manifest("base", "1.0.0", r#"(id: "base", name: "B", version: "1.0.0", api: "^1")"#)),
        ("addon.wasm", simple("addon", r#"dependencies: [(id: "base", version: "^1")]"#)),
    ]);
    assert_eq!(load_order(&app), ["base.wasm", "addon.wasm"]);
    let v2 = mod_with_manifest("base", "2.0.0", r#"(id: "base", name: "B", version: "2.0.0", api: "^1")"#);
    replace(dir.path(), "base.wasm", &v2);
    until(&mut app, "the reload is refused", |app| entry(app, "base.wasm").last_error.is_some());
    let error = entry(&app, "base.wasm").last_error.clone().unwrap();
    for part in ["reload failed, the previous version keeps running", "addon.wasm", "needs mod base ^1", "base 2.0.0"] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    assert_eq!(entry(&app, "base.wasm").version, "1.0.0");
    assert_eq!(load_order(&app), ["base.wasm", "addon.wasm"]);
}

#[test]
fn a_mod_file_added_while_the_game_runs_starts_and_one_that_cannot_run_says_why() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    replace(dir.path(), "counter.wasm", &mod_bytes("counter"));
    replace(dir.path(), "tipper.wasm", &mod_bytes("tipper"));
    let running = |app: &engine::bevy::prelude::App, file: &str| {
        app.world().resource::<ModRegistry>().get(file).is_some_and(|m| m.is_running())
    };
    until(&mut app, "the new counter runs", |app| running(app, "counter.wasm"));
    until(&mut app, "tipper is listed", |app| app.world().resource::<ModRegistry>().get("tipper.wasm").is_some());
    assert_failed(&app, "tipper.wasm", &["tipper.wasm", "needs mod bank ^0.1", "install bank ^0.1"]);
    assert_eq!(load_order(&app), ["mover.wasm", "counter.wasm"]);
}

/// A mod (ABI 1.3) with one `Update` system `{id}::tick` that sends one
/// `order::Ran { id: byte }` message, with `after`/`before` names.
fn ordered_mod(id: &str, byte: u8, after: &[&str], before: &[&str]) -> Vec<u8> {
    let list = |names: &[&str]| names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(",");
    let descriptor = format!(
        r#"(name:"{id}",version:"1.0.0",components:[],messages:[(name:"order::Ran",size:4,align:4)],systems:[(name:"{id}::tick",schedule:Update,params:[MessageWriter(message:0)],after:[{}],before:[{}])])"#,
        list(after),
        list(before)
    );
    let manifest = format!(r#"(id: "{id}", name: "{id}", version: "1.0.0", api: "^1.0")"#);
    let packed = ((descriptor.len() as u64) << 32) | 16;
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    wat::parse_str(format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\03\00")
            (@custom "bevy_mod_manifest" "{manifest}")
            (memory (export "memory") 2)
            (data (i32.const 16) "{descriptor}")
            (data (i32.const 4096) "\{byte:02x}\00\00\00")
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 65536)
            (func (export "mod_init") (result i64) i64.const {packed})
            (func (export "mod_run") (param $system i32) (param $frame i32) (result i32)
                (i32.store (i32.add (local.get $frame) (i32.const 128)) (i32.const 4096))
                (i32.store (i32.add (local.get $frame) (i32.const 132)) (i32.const 4))
                (i32.const 0)))"#,
        manifest = escape(&manifest),
        descriptor = escape(&descriptor),
    ))
    .unwrap()
}

tests::mirror!(Message Ran = "order::Ran" { id: u32 });

/// The ids in the `order::Ran` messages of one frame in which `mods` mods
/// ran: the order their systems ran in.
fn ran_order(app: &mut engine::bevy::prelude::App, mods: usize) -> Vec<u32> {
    app.update();
    let mut cursor = 0;
    let all = app.world_mut().resource_mut::<engine::runtime::ModMessages>().read::<Ran>(&mut cursor);
    all[all.len() - mods..].iter().map(|r| r.id).collect()
}

#[test]
fn a_system_can_run_after_or_before_another_mods_system_by_name() {
    // Load order is a, b, c (by id). a's tick asks to run after c's; b's
    // names a system no mod has (ignored).
    let (_dir, mut app) = game(&[
        ("a.wasm", ordered_mod("a", 1, &["c::tick"], &[])),
        ("b.wasm", ordered_mod("b", 2, &[], &["nobody::tick"])),
        ("c.wasm", ordered_mod("c", 3, &[], &[])),
    ]);
    assert_eq!(load_order(&app), ["a.wasm", "b.wasm", "c.wasm"]);
    assert_eq!(ran_order(&mut app, 3), [2, 3, 1]);
}

#[test]
fn contradicting_orders_across_mods_fall_back_to_load_order() {
    let (_dir, mut app) =
        game(&[("a.wasm", ordered_mod("a", 1, &["b::tick"], &[])), ("b.wasm", ordered_mod("b", 2, &["a::tick"], &[]))]);
    assert_eq!(ran_order(&mut app, 2), [1, 2]);
    assert_eq!(load_order(&app), ["a.wasm", "b.wasm"], "both still run");
}
