//! The bulk data path: a mod system reads and writes component columns,
//! spawns and despawns, and sees components other mods define.

use engine::bevy::ecs::query::QueryBuilder;
use engine::bevy::prelude::*;
use engine::runtime::{ModComponents, ModMessages, ModStatus, ModSystems};
use rocks_api::{Transform2d, Velocity};
use rocks_game::headless::STEP;
use tests::*;

/// Entities with the component named `name`.
fn with_component(app: &mut App, name: &str) -> Vec<Entity> {
    let id = app.world().resource::<ModComponents>().get(name).unwrap_or_else(|| panic!("{name} registered")).id;
    let world = app.world_mut();
    let mut q = QueryBuilder::<Entity>::new(world).with_id(id).build();
    q.iter(world).collect()
}

#[test]
fn a_mod_system_moves_entities_and_leaves_the_rest_alone() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    let movers: Vec<Entity> = (0..1000)
        .map(|i| {
            let t = Transform2d::from_xy(i as f32, 0.0);
            app.world_mut().spawn((t, Velocity(Vec2::new(1.0, (i % 7) as f32)))).id()
        })
        .collect();
    let still = app.world_mut().spawn(Transform2d::from_xy(5.0, 5.0)).id();
    run(&mut app, 60);
    let secs = 60.0 * STEP.as_secs_f32();
    for (i, &e) in movers.iter().enumerate() {
        let t = app.world().get::<Transform2d>(e).unwrap();
        let expected = Vec2::new(i as f32 + secs, (i % 7) as f32 * secs);
        assert!(t.translation.distance(expected) < 1e-2, "entity {i}: {} != {expected}", t.translation);
    }
    assert_eq!(app.world().get::<Transform2d>(still).unwrap().translation, Vec2::new(5.0, 5.0));
    assert_eq!(status(&app, "mover"), ModStatus::Running);
}

#[derive(Resource, Default)]
struct SeenChanged(Vec<Entity>);

fn record_changed(q: Query<Entity, Changed<Transform2d>>, mut seen: ResMut<SeenChanged>) {
    seen.0.extend(q.iter());
}

#[test]
fn a_mod_writes_are_seen_by_change_detection() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    app.init_resource::<SeenChanged>().add_systems(Update, record_changed.after(ModSystems::Update));
    let moving = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X))).id();
    let still = app.world_mut().spawn(Transform2d::default()).id();
    run(&mut app, 3); // past the frame where both were added
    app.world_mut().resource_mut::<SeenChanged>().0.clear();
    run(&mut app, 1);
    let seen = &app.world().resource::<SeenChanged>().0;
    assert!(seen.contains(&moving), "the mover's write marks Transform2d changed for engine systems");
    assert!(!seen.contains(&still), "columns a mod cannot write are not marked changed");
}

/// Change detection as in Bevy, by value (DESIGN.md, "Change detection"):
/// of the mover's entities, all in one table, an engine system's
/// `Changed<Transform2d>` sees exactly those whose value the mod changed;
/// a mover standing still (zero velocity) is written the same value and is
/// not changed. A write by another system is seen by the mod and kept.
#[test]
fn only_the_rows_a_mod_changed_are_marked_changed() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    app.init_resource::<SeenChanged>().add_systems(Update, record_changed.after(ModSystems::Update));
    let mut spawn = |x: f32, v: Vec2| app.world_mut().spawn((Transform2d::from_xy(x, 0.0), Velocity(v))).id();
    let moving: Vec<Entity> = (0..20).map(|i| spawn(i as f32, Vec2::X)).collect();
    let standing: Vec<Entity> = (0..20).map(|i| spawn(i as f32, Vec2::ZERO)).collect();
    run(&mut app, 3); // past the frame where they were added
    for _ in 0..4 {
        app.world_mut().resource_mut::<SeenChanged>().0.clear();
        run(&mut app, 1);
        let mut seen = app.world().resource::<SeenChanged>().0.clone();
        seen.sort();
        let mut expected = moving.clone();
        expected.sort();
        assert_eq!(seen, expected, "Changed<Transform2d> sees the moving entities, and only them");
    }
    // Another system's write: the mod reads it, leaves it, and marks nothing.
    app.world_mut().get_mut::<Transform2d>(standing[3]).unwrap().translation.y = 100.0;
    run(&mut app, 1);
    app.world_mut().resource_mut::<SeenChanged>().0.clear();
    run(&mut app, 1);
    assert_eq!(app.world().get::<Transform2d>(standing[3]).unwrap().translation, Vec2::new(3.0, 100.0));
    assert!(!app.world().resource::<SeenChanged>().0.contains(&standing[3]));
    assert_eq!(status(&app, "mover"), ModStatus::Running);
}

#[derive(Resource, Default)]
struct SeenAdded(Vec<Entity>);

fn record_added(q: Query<Entity, Added<Transform2d>>, mut seen: ResMut<SeenAdded>) {
    seen.0.extend(q.iter());
}

/// `Added<T>` in an engine system sees each entity a mod spawned with `T`
/// once, and the mod's later writes to it do not make it added again.
#[test]
fn what_a_mod_spawns_is_added_once() {
    let dir = mod_dir(&["census"]);
    let mut app = start(&headless_config(dir.path()));
    app.init_resource::<SeenAdded>().add_systems(Update, record_added.after(ModSystems::Update));
    run(&mut app, 10);
    let sparks = with_component(&mut app, "census::Spark");
    assert_eq!(sparks.len(), 10);
    let seen = &app.world().resource::<SeenAdded>().0;
    for e in &sparks {
        assert_eq!(seen.iter().filter(|s| *s == e).count(), 1, "spark {e} was added once: {seen:?}");
    }
}

#[test]
fn a_mod_spawns_and_despawns_entities() {
    let dir = mod_dir(&["census"]);
    let mut app = start(&headless_config(dir.path()));
    let sparks = with_component(&mut app, "census::Spark");
    assert_eq!(sparks.len(), 10, "the startup system spawned ten sparks");
    for e in &sparks {
        assert!(app.world().get::<Transform2d>(*e).is_some(), "sparks carry the engine's Transform2d");
    }
    run(&mut app, 45); // 0.75 s > the sparks' 0.5 s
    assert!(with_component(&mut app, "census::Spark").is_empty(), "every spark despawned itself");
    for e in sparks {
        assert!(app.world().get_entity(e).is_err());
    }
}

#[test]
fn a_mod_defined_component_is_read_by_another_mod_and_by_the_engine() {
    let dir = mod_dir(&["census", "rocks"]);
    let mut app = start(&headless_config(dir.path()));
    run(&mut app, 5);
    // `rocks` spawned arcade_types::Rock entities; the engine reads them by name.
    let rocks = with_component(&mut app, <arcade_types::Rock as mod_api::Component>::NAME);
    assert!(rocks.len() >= 4, "rocks spawned its first wave, got {}", rocks.len());
    let comps = app.world().resource::<ModComponents>();
    for &e in &rocks {
        let bytes = comps.read_bytes(app.world(), e, "arcade_types::Rock").unwrap();
        let size = u32::from_le_bytes(bytes[..4].try_into().unwrap());
        assert_eq!(size, 3, "first-wave rocks are large");
        // `census` (another mod) saw each rock and tagged it.
        let counted = comps.read::<Counted>(app.world(), e).expect("census tagged every rock it counted");
        assert!(counted.frame >= 1);
    }
    // …and told the engine how many it counted.
    let mut cursor = 0;
    let census = app.world_mut().resource_mut::<ModMessages>().read::<Census>(&mut cursor);
    let last = census.last().expect("census reports every frame");
    assert_eq!(last.rocks as usize, rocks.len());
    assert_eq!(last.large as usize, rocks.len());
}

/// `Query::get` and `get_mut` find an entity in whichever table (batch) it
/// is, by asking the host (`query_locate`), and find nothing for an entity
/// the query does not match or that no longer exists. Only the entities the
/// mod moved are `Changed`.
#[test]
fn a_mod_looks_entities_up_by_id_in_any_table() {
    let dir = mod_dir(&["impacts"]);
    let mut app = start(&headless_config(dir.path()));
    app.init_resource::<SeenChanged>().add_systems(Update, record_changed.after(ModSystems::Update));
    let world = app.world_mut();
    // Three tables of bodies; the pairs straddle them.
    let plain: Vec<Entity> = (0..50).map(|i| world.spawn(Transform2d::from_xy(i as f32, 0.0)).id()).collect();
    let moving: Vec<Entity> =
        (0..50).map(|i| world.spawn((Transform2d::from_xy(i as f32, 10.0), Velocity(Vec2::ZERO))).id()).collect();
    let gone = world.spawn(Transform2d::from_xy(0.0, 20.0)).id();
    world.despawn(gone);
    let bodiless = world.spawn(Velocity(Vec2::ZERO)).id();
    run(&mut app, 3);
    let id = |e: Entity| mod_api::Entity(e.to_bits());
    let hit = |a: Entity, b: Entity| rocks_api::Collision { a: id(a), b: id(b) };
    let collisions =
        [hit(plain[7], moving[7]), hit(moving[30], plain[31]), hit(plain[1], gone), hit(bodiless, plain[2])];
    app.world_mut().resource_mut::<ModMessages>().write_batch(&collisions);
    app.world_mut().resource_mut::<SeenChanged>().0.clear();
    run(&mut app, 1);
    let at = |app: &App, e: Entity| app.world().get::<Transform2d>(e).unwrap().translation;
    // Straight below and above each other: pushed half a unit apart each.
    assert_eq!(at(&app, plain[7]), Vec2::new(7.0, -0.5));
    assert_eq!(at(&app, moving[7]), Vec2::new(7.0, 10.5));
    assert!(at(&app, moving[30]).y > 10.0 && at(&app, plain[31]).y < 0.0, "the second pair was pushed apart");
    // A pair with a despawned or body-less entity is skipped.
    assert_eq!(at(&app, plain[1]), Vec2::new(1.0, 0.0));
    assert_eq!(at(&app, plain[2]), Vec2::new(2.0, 0.0));
    let mut seen = app.world().resource::<SeenChanged>().0.clone();
    seen.sort();
    let mut expected = vec![plain[7], moving[7], moving[30], plain[31]];
    expected.sort();
    assert_eq!(seen, expected, "only the pushed bodies changed");
    assert_eq!(status(&app, "impacts"), ModStatus::Running);
}

/// The SDK keeps `query_fetch` among every mod's imports (ABI 1.8), also
/// in a mod that never iterates (`impacts` only looks entities up):
/// without it the host would copy in every row its queries match before
/// each run, and `lookup_1k_of_100k` would be three times slower.
#[test]
fn every_sdk_mod_asks_for_its_columns_on_demand() {
    let engine = wasmtime::Engine::default();
    for name in ["impacts", "mover"] {
        let module = wasmtime::Module::new(&engine, mod_bytes(name)).expect("the mod compiles");
        let imports: Vec<String> = module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect();
        assert!(imports.iter().any(|i| i == "bevy_mod::query_fetch"), "{name} imports {imports:?}");
    }
}

/// A mod's `Changed<T>` and `Added<T>` filters mean what Bevy's do: on the
/// system's first run everything is new; after it, exactly the entities
/// whose `T` changed (or was added) since its last run, in any table.
#[test]
fn a_mods_change_filters_see_what_changed_since_its_last_run() {
    use rocks_api::{Collider, Label, Shape, Sprite};
    let dir = mod_dir(&["watcher"]);
    let mut app = start(&headless_config(dir.path()));
    let white = mod_api::Color::WHITE;
    let red = mod_api::Color::rgb(1.0, 0.0, 0.0);
    let sprite = || Sprite::new(Shape::Rectangle, Vec2::ONE, white);
    let world = app.world_mut();
    let plain: Vec<Entity> =
        (0..10).map(|i| world.spawn((Transform2d::from_xy(i as f32, 0.0), sprite())).id()).collect();
    let other_table: Vec<Entity> = (0..10)
        .map(|i| world.spawn((Transform2d::from_xy(i as f32, 5.0), sprite(), Velocity(Vec2::ZERO))).id())
        .collect();
    let collider = Collider { radius: 1.0, layer: 0, mask: 0 };
    let solid = world.spawn((Transform2d::default(), sprite(), collider)).id();
    let all: Vec<Entity> = plain.iter().chain(&other_table).copied().chain([solid]).collect();
    let color = |app: &App, e: Entity| app.world().get::<Sprite>(e).unwrap().color;
    run(&mut app, 2);
    for &e in &all {
        assert_eq!(color(&app, e), red, "on the first run every entity is new to the filter");
    }
    assert!(app.world().get::<Label>(solid).is_some(), "Added<Collider> saw the solid entity");
    for &e in &all {
        app.world_mut().get_mut::<Sprite>(e).unwrap().color = white;
    }
    run(&mut app, 2);
    for &e in &all {
        assert_eq!(color(&app, e), white, "nothing moved, nothing turned red");
    }
    // The game moves one entity in each table and gives a third a collider.
    app.world_mut().get_mut::<Transform2d>(plain[3]).unwrap().translation.x += 1.0;
    app.world_mut().get_mut::<Transform2d>(other_table[6]).unwrap().translation.x += 1.0;
    app.world_mut().entity_mut(plain[8]).insert(collider);
    run(&mut app, 1);
    for &e in &all {
        let moved = e == plain[3] || e == other_table[6];
        assert_eq!(color(&app, e), if moved { red } else { white }, "{e}: moved {moved}");
    }
    assert!(app.world().get::<Label>(plain[8]).is_some(), "Added<Collider> saw the new collider");
    assert!(app.world().get::<Label>(plain[7]).is_none());
    assert_eq!(status(&app, "watcher"), ModStatus::Running);
}
