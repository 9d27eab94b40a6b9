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
