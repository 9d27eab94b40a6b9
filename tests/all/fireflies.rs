//! The second example game, Fireflies (`engine/fireflies`): a Bevy app made
//! moddable with the runtime's public API alone, run headless on the real
//! `swarm` mod, and the bad input a game's exposure must refuse by name.

use engine::bevy::prelude::*;
use engine::runtime::expose::Kind;
use engine::runtime::{ExposeError, GameApi, ModAccess, ModError, ModRegistry, ModStatus, Refusal, expose};
use fireflies_api::{CAPACITY, Glow, JAR, Jar, Night};
use tests::*;

/// The Fireflies game over `dir`, its mods started (or failed).
fn fireflies(dir: &std::path::Path) -> App {
    settled(fireflies::headless_app(dir.to_path_buf()))
}

fn names(app: &mut App) -> Vec<String> {
    let world = app.world_mut();
    world.query::<&Name>().iter(world).map(|n| n.as_str().to_string()).collect()
}

#[test]
fn the_swarm_mod_flies_fireflies_through_bevys_transform_and_calls_the_game() {
    let dir = mod_dir(&["swarm"]);
    let mut app = fireflies(dir.path());
    assert_eq!(status(&app, "swarm"), ModStatus::Running);
    let start: Vec<(String, Vec3)> = {
        let world = app.world_mut();
        world.query::<(&Name, &Transform)>().iter(world).map(|(n, t)| (n.as_str().to_string(), t.translation)).collect()
    };
    // Releases every half second: five fit (3 + 5 = CAPACITY), the sixth is refused.
    run(&mut app, 240);
    assert_eq!(status(&app, "swarm"), ModStatus::Running, "the mod ran throughout");

    let world = app.world_mut();
    let flies: Vec<(String, Transform, Glow)> = world
        .query::<(&Name, &Transform, &Glow)>()
        .iter(world)
        .map(|(n, t, g)| (n.as_str().to_string(), *t, *g))
        .collect();
    assert_eq!(flies.len() as u32, CAPACITY, "the function released fireflies until the jar was full");
    for (name, t, glow) in &flies {
        assert!(t.translation.abs().max_element() <= JAR, "{name} stays in the jar: {t:?}");
        assert!(glow.brightness != 0.2 && (0.0..=1.0).contains(&glow.brightness), "{name} blinks: {glow:?}");
        if let Some((_, at)) = start.iter().find(|(n, _)| n == name) {
            assert!(t.translation.distance(*at) > 1.0, "{name} flew from {at} to {}", t.translation);
        }
    }
    let jar = *app.world().resource::<Jar>();
    assert_eq!((jar.fireflies, jar.capacity), (CAPACITY, CAPACITY), "the game's resource, read by the mod");
    let night = *app.world().resource::<Night>();
    assert_eq!(night.darkness, 0.5, "the mod set the game's resource from the full jar");
    let names = names(&mut app);
    for refusal in ["refused: (100, 100, 100) is outside the jar", "refused: the jar is full (8 fireflies)"] {
        assert!(
            names.iter().any(|n| n == refusal),
            "the mod got the game's error as a value: {refusal:?} in {names:?}"
        );
    }
}

/// A mod next to `swarm` in a fresh folder; the game started.
fn with_swarm(file: &str, bytes: Vec<u8>) -> (TempDir, App) {
    let dir = mod_dir(&["swarm"]);
    std::fs::write(dir.path().join(file), bytes).unwrap();
    let app = fireflies(dir.path());
    (dir, app)
}

/// The refusal that stopped `file` at load, as a value.
fn refusal(app: &App, file: &str) -> Refusal {
    match app.world().resource::<ModRegistry>().get(file).and_then(|m| m.error()) {
        Some(ModError::Refused { refusal, .. }) => (**refusal).clone(),
        other => panic!("{file} should have been refused: {other:?}"),
    }
}

/// The mod failed with all of `parts` in its error, and `swarm` runs on.
fn refused_alone(app: &mut App, file: &str, parts: &[&str]) {
    assert_failed(app, file, parts);
    run(app, 40);
    assert_eq!(status(app, "swarm"), ModStatus::Running, "the other mod runs on");
}

#[test]
fn a_function_the_game_does_not_expose_is_refused_at_load() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "greedy", version: "1.0.0", components: [], messages: [], systems: [],
            functions: [(name: "fireflies_api::CatchAll", input_size: 0, output_size: 4)])"#,
    );
    let (_dir, mut app) = with_swarm("greedy.wasm", wasm);
    refused_alone(
        &mut app,
        "greedy.wasm",
        &["greedy.wasm", "fireflies_api::CatchAll", "not exposed", "fireflies_api::ReleaseFirefly"],
    );
    assert!(matches!(refusal(&app, "greedy.wasm"), Refusal::NotExposed { kind: Kind::Function, .. }));
}

#[test]
fn a_function_declared_with_another_layout_is_refused_at_load() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "stale", version: "1.0.0", components: [], messages: [], systems: [],
            functions: [(name: "fireflies_api::ReleaseFirefly", input_size: 8, output_size: 4)])"#,
    );
    let (_dir, mut app) = with_swarm("stale.wasm", wasm);
    refused_alone(
        &mut app,
        "stale.wasm",
        &["stale.wasm", "fireflies_api::ReleaseFirefly", "is 12 bytes in", "declares 8 bytes in"],
    );
    assert!(matches!(refusal(&app, "stale.wasm"), Refusal::Layout { kind: Kind::Function, .. }));
}

#[test]
fn a_call_with_argument_bytes_of_the_wrong_size_stops_the_mod_alone() {
    let descriptor = r#"(name:"sloppy",version:"1.0.0",components:[],messages:[],systems:[(name:"sloppy::call",schedule:Update,params:[Guest])],functions:[(name:"fireflies_api::ReleaseFirefly",input_size:12,output_size:4)])"#;
    let wasm = wat::parse_str(format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\05\00")
            (import "bevy_mod" "call_function" (func $call (param i32 i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 2)
            (data (i32.const 16) "{}")
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 65536)
            (func (export "mod_init") (result i64) i64.const {})
            (func (export "mod_run") (param i32 i32) (result i32)
                (drop (call $call (i32.const 0) (i32.const 1024) (i32.const 4) (i32.const 2048) (i32.const 1024)))
                i32.const 0))"#,
        descriptor.replace('"', "\\\""),
        ((descriptor.len() as u64) << 32) | 16
    ))
    .unwrap();
    // It declared the function right, so it starts, and fails at its first call.
    let (_dir, mut app) = with_swarm("sloppy.wasm", wasm);
    run(&mut app, 1);
    refused_alone(
        &mut app,
        "sloppy.wasm",
        &["sloppy", "sloppy::call", "fireflies_api::ReleaseFirefly", "4 bytes of input", "takes 12"],
    );
}

#[test]
fn a_component_in_the_games_crate_that_it_does_not_expose_is_refused_with_what_it_offers() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "inventor", version: "1.0.0", messages: [], systems: [],
            components: [(name: "fireflies_api::Nectar", size: 4, align: 4)])"#,
    );
    let (_dir, mut app) = with_swarm("inventor.wasm", wasm);
    refused_alone(
        &mut app,
        "inventor.wasm",
        &[
            "inventor.wasm",
            "component fireflies_api::Nectar is not exposed",
            "component fireflies_api::Glow (read-write)",
        ],
    );
    assert!(matches!(refusal(&app, "inventor.wasm"), Refusal::NotExposed { kind: Kind::Component, .. }));
}

#[test]
fn an_exposed_component_declared_with_another_layout_is_refused() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "dim", version: "1.0.0", messages: [], systems: [],
            components: [(name: "fireflies_api::Glow", size: 4, align: 4)])"#,
    );
    let (_dir, mut app) = with_swarm("dim.wasm", wasm);
    refused_alone(&mut app, "dim.wasm", &["dim.wasm", "fireflies_api::Glow", "4 bytes", "8 bytes"]);
    assert!(matches!(refusal(&app, "dim.wasm"), Refusal::Layout { kind: Kind::Component, .. }));
}

#[test]
fn writing_a_component_the_game_exposes_read_only_is_refused_at_load() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "mover3", version: "1.0.0", messages: [],
            components: [(name: "bevy::GlobalTransform", size: 40, align: 4)],
            systems: [(name: "mover3::push", schedule: Update,
                       params: [Query(terms: [(component: 0, access: Write)])])])"#,
    );
    let (_dir, mut app) = with_swarm("mover3.wasm", wasm);
    refused_alone(&mut app, "mover3.wasm", &["mover3.wasm", "mover3::push", "bevy::GlobalTransform", "read-only"]);
    let Some(ModError::Refused { system, refusal, .. }) =
        app.world().resource::<ModRegistry>().get("mover3.wasm").and_then(|m| m.error())
    else {
        panic!("mover3 should have been refused")
    };
    assert_eq!(system.as_deref(), Some("mover3::push"));
    assert_eq!(**refusal, Refusal::ReadOnly { kind: Kind::Component, name: "bevy::GlobalTransform".into() });
}

#[test]
fn changing_a_resource_the_game_exposes_read_only_is_refused_at_load() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "thief", version: "1.0.0", components: [], messages: [],
            resources: [(name: "fireflies_api::Jar", size: 8, align: 4)],
            systems: [(name: "thief::steal", schedule: Update, params: [Resource(resource: 0, write: true)])])"#,
    );
    let (_dir, mut app) = with_swarm("thief.wasm", wasm);
    refused_alone(&mut app, "thief.wasm", &["thief.wasm", "thief::steal", "resource fireflies_api::Jar", "read-only"]);
    assert!(matches!(refusal(&app, "thief.wasm"), Refusal::ReadOnly { kind: Kind::Resource, .. }));
}

#[test]
fn a_resource_the_game_does_not_expose_is_refused_with_what_it_offers() {
    let wasm = wat_mod_with_descriptor(
        "",
        r#"(name: "weather", version: "1.0.0", components: [], messages: [],
            resources: [(name: "fireflies_api::Moon", size: 4, align: 4)],
            systems: [(name: "weather::look", schedule: Update, params: [Resource(resource: 0)])])"#,
    );
    let (_dir, mut app) = with_swarm("weather.wasm", wasm);
    refused_alone(
        &mut app,
        "weather.wasm",
        &["weather.wasm", "resource fireflies_api::Moon is not exposed", "fireflies_api::Jar, fireflies_api::Night"],
    );
    assert!(matches!(refusal(&app, "weather.wasm"), Refusal::NotExposed { kind: Kind::Resource, .. }));
}

/// A mod whose one `Update` system (`{name}::act`, parameters `Commands`)
/// sends `stream` as its command stream, with `components` declared.
fn commands_mod(name: &str, components: &str, stream: &[u8]) -> Vec<u8> {
    let descriptor = format!(
        r#"(name:"{name}",version:"1.0.0",components:[{components}],messages:[],systems:[(name:"{name}::act",schedule:Update,params:[Commands])])"#
    );
    let bytes: String = stream.iter().map(|b| format!("\\{b:02x}")).collect();
    wat::parse_str(format!(
        r#"(module (@custom "bevy_mod_abi" "\01\00\05\00")
            (memory (export "memory") 2)
            (data (i32.const 16) "{}")
            (data (i32.const 4096) "{bytes}")
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 65536)
            (func (export "mod_init") (result i64) i64.const {})
            (func (export "mod_run") (param i32 i32) (result i32)
                (i32.store (i32.add (local.get 1) (i32.const 128)) (i32.const 4096))
                (i32.store (i32.add (local.get 1) (i32.const 132)) (i32.const {}))
                i32.const 0))"#,
        descriptor.replace('"', "\\\""),
        ((descriptor.len() as u64) << 32) | 16,
        stream.len()
    ))
    .unwrap()
}

#[test]
fn a_view_a_mod_writes_that_the_component_cannot_take_fails_the_mod_alone() {
    // SPAWN (2) of one component (local id 0, a `bevy::Name` view) whose
    // `len` says 200 bytes: a Name holds at most 60.
    let stream: Vec<u8> = [2u32, 1, 0, 200].iter().flat_map(|w| w.to_le_bytes()).chain([0; 60]).collect();
    let wasm = commands_mod("liar", r#"(name:"bevy::Name",size:64,align:4)"#, &stream);
    let (_dir, mut app) = with_swarm("liar.wasm", wasm);
    run(&mut app, 1);
    refused_alone(&mut app, "liar.wasm", &["liar", "liar::act", "component bevy::Name", "a Name of 200 bytes"]);
    let names = names(&mut app);
    assert!(!names.iter().any(|n| n.is_empty()), "nothing of the failed run was applied: {names:?}");
}

#[test]
fn a_game_exposing_a_name_twice_differently_keeps_the_first_and_says_why() {
    let mut app = App::new();
    expose::component::<Glow>(app.world_mut(), ModAccess::ReadWrite);
    expose::component::<Glow>(app.world_mut(), ModAccess::ReadWrite);
    assert!(app.world().resource::<GameApi>().errors.is_empty(), "the same exposure twice is no error");
    expose::component::<Glow>(app.world_mut(), ModAccess::Read);
    let errors = &app.world().resource::<GameApi>().errors;
    let first = (Kind::Component, ModAccess::ReadWrite);
    let second = (Kind::Component, ModAccess::Read);
    assert_eq!(errors, &[ExposeError::Twice { name: "fireflies_api::Glow".into(), first, second }]);
    assert!(errors[0].to_string().ends_with("the first stands"), "{}", errors[0]);
}

/// `swarm`'s `bounce` takes `Changed<Transform>` through the runtime's
/// adapter for Bevy's `Transform`: the fireflies that moved are gathered
/// into the mod as views and written back to their own rows. A firefly
/// past the wall is put back on it and turned around; one the game holds
/// still (its own `Transform` unchanged) is left where it is.
#[test]
fn a_change_filter_on_bevys_transform_reaches_the_right_rows() {
    use fireflies_api::Velocity;
    let dir = mod_dir(&["swarm"]);
    let mut app = fireflies(dir.path());
    let out = Vec3::new(JAR + 2.0, 0.0, 0.0);
    // (Not `-out`: `fly` adds a zero velocity, and -0.0 + 0.0 is 0.0, a
    // change of bytes.)
    let back = Vec3::new(-JAR - 2.0, 0.0, 0.0);
    let glow = Glow { brightness: 1.0, phase: 0.0 };
    let world = app.world_mut();
    let flying = world.spawn((Transform::from_translation(out), Velocity(Vec3::X), glow)).id();
    let still = world.spawn((Transform::from_translation(back), Velocity(Vec3::ZERO), glow)).id();
    run(&mut app, 1);
    let t = *app.world().get::<Transform>(flying).unwrap();
    let v = *app.world().get::<Velocity>(flying).unwrap();
    assert_eq!(t.translation.x, JAR, "put back on the wall: {t:?}");
    assert!(v.0.x < 0.0, "turned around: {v:?}");
    assert_eq!(app.world().get::<Transform>(still).unwrap().translation.x, -JAR, "new, so changed: put back");
    // Outside again, unseen by change detection: the standing firefly's
    // Transform has not changed since `bounce` last ran, so it is left out.
    app.world_mut().get_mut::<Transform>(still).unwrap().bypass_change_detection().translation = back;
    run(&mut app, 2);
    assert_eq!(app.world().get::<Transform>(still).unwrap().translation, back, "not changed, not bounced");
    assert!(app.world().get::<Transform>(flying).unwrap().translation.x < JAR, "the flying one flies on");
    assert_eq!(status(&app, "swarm"), ModStatus::Running);
}
