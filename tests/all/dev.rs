//! Live editing (`--dev`): saving a mod's source rebuilds it with cargo and
//! the hot reload follows; only real edits build, each once, and only the
//! mods they affect; a build error is reported and the last good version
//! keeps running.

use engine::bevy::prelude::*;
use engine::runtime::ModMessages;
use engine::runtime::dev::DevBuild;
use std::path::Path;
use std::time::{Duration, Instant};
use tests::*;

tests::mirror!(Message Beacon = "probe::Beacon" { value: u32 });

/// The probe mod: sends `probe_types::BASE + value` every frame.
fn probe_source(value: &str) -> String {
    format!(
        r#"use mod_api::prelude::*;
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct Beacon {{ pub value: u32 }}
fn beacon(mut out: MessageWriter<Beacon>) {{ out.write(Beacon {{ value: probe_types::BASE + {value} }}); }}
#[mod_main]
fn main(app: &mut App) {{ app.add_systems(Update, beacon); }}
"#
    )
}

/// A mod crate `name` under `root/mods` depending on `probe-types`.
fn write_mod_crate(root: &Path, name: &str, source: &str) {
    let dir = root.join("mods").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mod_api = repo().join("mod-api");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nmod-api = {{ path = {:?} }}\nprobe-types = {{ path = \"../probe-types\" }}\n",
            mod_api.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), source).unwrap();
    std::fs::write(dir.join("mod.ron"), format!(r#"(id: "{name}", name: "{name}", version: "0.1.0", api: "^1.4")"#))
        .unwrap();
}

fn write_types(root: &Path, base: u32) {
    std::fs::write(root.join("mods/probe-types/src/lib.rs"), format!("pub const BASE: u32 = {base};\n")).unwrap();
}

/// Runs frames until the probe sends `value` (reading every frame).
fn until_beacon(app: &mut App, cursor: &mut u64, value: u32) -> Duration {
    // The first build compiles the SDK and its dependencies for wasm.
    let limit = Duration::from_secs(900);
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

fn dev(app: &App) -> DevBuild {
    app.world().resource::<DevBuild>().clone()
}

/// Runs frames until the build after the first `builds` finished.
fn until_built(app: &mut App, builds: u32) -> DevBuild {
    until(app, "a build finishes", |app| dev(app).builds > builds);
    dev(app)
}

#[test]
fn live_editing_rebuilds_what_an_edit_affects_once_and_nothing_without_an_edit() {
    let ws = TempDir::new();
    let root = ws.path();
    std::fs::create_dir_all(root.join("mods/probe-types/src")).unwrap();
    std::fs::create_dir_all(root.join("out")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"mods/*\"]\n").unwrap();
    std::fs::write(
        root.join("mods/probe-types/Cargo.toml"),
        "[package]\nname = \"probe-types\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    write_types(root, 0);
    // Reuse the workspace's lock file, so the mods build with the same versions.
    std::fs::copy(repo().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    write_mod_crate(root, "probe", &probe_source("1"));
    // Another mod on the same types, which the game does not load.
    write_mod_crate(root, "other", "use mod_api::prelude::*;\n#[mod_main]\nfn main(_: &mut App) {}\n");
    // The game loads `probe.wasm`; start it with any valid mod under that name.
    std::fs::write(root.join("out/probe.wasm"), mod_bytes("mover")).unwrap();

    let mut config = headless_config(&root.join("out"));
    config.dev = Some(root.to_path_buf());
    let mut app = start(&config);
    let mut cursor = 0;
    // The first (warming) build of every mod replaces the placeholder with
    // the source's version.
    until_beacon(&mut app, &mut cursor, 1);
    until(&mut app, "the warming build is reported", |app| dev(app).builds >= 1 && dev(app).building.is_empty());
    let warm = dev(&app);
    assert_eq!((warm.builds, warm.last_built.as_slice()), (1, ["other".to_string(), "probe".into()].as_slice()));
    // The placeholder was replaced by a reload, or (with the build already
    // warm) before the game first read the folder.
    let reloads = entry(&app, "probe.wasm").reloads;
    assert!(reloads <= 1, "one reload at most: {reloads}");

    // No edit: nothing builds, nothing reloads (cargo reading the sources
    // while it built, for one, is no edit).
    let idle = Instant::now();
    while idle.elapsed() < Duration::from_secs(3) {
        run(&mut app, 1);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(dev(&app).builds, 1, "nothing was built without an edit: {:?}", dev(&app));
    assert_eq!(entry(&app, "probe.wasm").reloads, reloads, "nothing was reloaded without an edit");

    // An edit of one mod rebuilds that mod alone, once.
    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("2")).unwrap();
    let took = until_beacon(&mut app, &mut cursor, 2);
    eprintln!("saved source → new code running: {took:?}");
    let after = until_built(&mut app, 1);
    assert_eq!((after.builds, after.last_built.as_slice()), (2, ["probe".to_string()].as_slice()));
    assert_eq!(after.last_copied, ["probe.wasm"]);

    // An edit of the types crate rebuilds both mods that use it.
    write_types(root, 10);
    until_beacon(&mut app, &mut cursor, 12);
    let after = until_built(&mut app, 2);
    assert_eq!(after.last_built, ["other", "probe"]);

    // Saving the manifest alone rebuilds its mod.
    let manifest = root.join("mods/probe/mod.ron");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("name: \"probe\"", "name: \"Probe\"")).unwrap();
    let after = until_built(&mut app, after.builds);
    assert_eq!(after.last_built, ["probe"]);

    // An edit saved while a build runs is built after it.
    let builds = dev(&app).builds;
    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("3")).unwrap();
    until(&mut app, "the build starts", |app| !dev(app).building.is_empty() || dev(app).builds > builds);
    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("4")).unwrap();
    until_beacon(&mut app, &mut cursor, 14);

    // A build error is reported; the last good version keeps running.
    until(&mut app, "the builds settle", |app| dev(app).building.is_empty());
    let builds = dev(&app).builds;
    std::fs::write(root.join("mods/probe/src/lib.rs"), probe_source("5 +")).unwrap();
    until(&mut app, "the failed build is reported", |app| {
        let dev = dev(app);
        dev.builds > builds && dev.last_error.is_some()
    });
    let error = dev(&app).last_error.unwrap();
    assert!(error.contains("probe") && error.contains("error"), "{error}");
    until_beacon(&mut app, &mut cursor, 14);
}

/// `--dev` defines the mods' profile for a workspace without one: the same
/// settings as this repository's `[profile.mod]`.
#[test]
fn the_profile_dev_builds_with_is_the_repositorys() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    // `[profile.mod]` and the tables under it, as `--config` settings.
    let mut table = String::new();
    let mut settings = Vec::new();
    for line in manifest.lines().skip_while(|l| l.trim() != "[profile.mod]") {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if !name.starts_with("profile.mod") {
                break;
            }
            table = name.to_string();
        } else if !line.is_empty() && !line.starts_with('#') {
            settings.push(format!("{table}.{}", line.replace(" = ", "=")));
        }
    }
    assert_eq!(settings, engine::runtime::dev::MOD_PROFILE);
}
