//! Messages in every direction: engine → mod, mod → engine, mod → mod.

use engine::bevy::prelude::*;
use engine::runtime::{ModComponents, ModMessages};
use rocks_api::{Collider, Transform2d, Velocity};
use rocks_game::Scoreboard;
use tests::*;

#[test]
fn engine_to_mod_and_mod_to_engine() {
    let dir = mod_dir(&["census"]);
    let mut app = start(&headless_config(dir.path()));
    let mut bus = app.world_mut().resource_mut::<ModMessages>();
    bus.write(Ping { value: 7 });
    bus.write(Ping { value: 21 });
    run(&mut app, 1);
    let mut cursor = 0;
    let pongs = app.world_mut().resource_mut::<ModMessages>().read::<Pong>(&mut cursor);
    assert_eq!(pongs, vec![Pong { value: 14 }, Pong { value: 42 }]);
    run(&mut app, 3);
    let again = app.world_mut().resource_mut::<ModMessages>().read::<Pong>(&mut cursor);
    assert!(again.is_empty(), "each ping is answered once, got {again:?}");
}

#[test]
fn mod_to_mod_a_shot_rock_splits() {
    // `rules` reads the engine's Collision and tells `rocks` (RockDestroyed),
    // which splits the rock; `rules` also reports the score to the engine.
    let dir = mod_dir(&["rocks", "rules"]);
    let mut app = start(&headless_config(dir.path()));
    // Replace whatever wave `rocks` started with one rock and one bullet on it.
    let world = app.world_mut();
    let wave: Vec<Entity> = world.query_filtered::<Entity, With<Collider>>().iter(world).collect();
    for e in wave {
        world.despawn(e);
    }
    let layer = arcade_types::layer::ROCK;
    let rock =
        world.spawn((Transform2d::default(), Velocity(Vec2::X * 50.0), Collider { radius: 40.0, layer, mask: 0 })).id();
    let bullet = world
        .spawn((
            Transform2d::from_xy(5.0, 0.0),
            Collider { radius: 4.0, layer: arcade_types::layer::BULLET, mask: layer },
        ))
        .id();
    world.resource_scope(|world, mut comps: Mut<ModComponents>| {
        comps.insert(world, rock, arcade_types::Rock { size: 3, spin: 0.0 }).unwrap();
        comps.insert(world, bullet, arcade_types::Bullet { ttl: 1.0 }).unwrap();
    });
    run(&mut app, 3);
    let world = app.world_mut();
    assert!(world.get_entity(rock).is_err() && world.get_entity(bullet).is_err(), "rules despawned both");
    let comps = world.resource::<ModComponents>();
    let rock_id = comps.get("arcade_types::Rock").unwrap().id;
    let sizes: Vec<u32> = world
        .query::<EntityRef>()
        .iter(world)
        .filter_map(|e| e.get_by_id(rock_id).ok())
        // SAFETY: Rock's first field is its u32 size.
        .map(|p| unsafe { p.as_ptr().cast::<u32>().read_unaligned() })
        .collect();
    assert_eq!(sizes, vec![2, 2], "the large rock split into two medium ones");
    let board = *world.resource::<Scoreboard>();
    assert_eq!((board.score, board.lives), (20, 3), "rules scored the hit and told the engine");
}

#[test]
fn fixed_update_systems_run_once_per_fixed_step_with_the_fixed_delta() {
    let dir = mod_dir(&["census"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    app.world_mut().resource_mut::<ModMessages>().read::<FixedTick>(&mut cursor);
    // Messages live two frames (like Bevy's), so read every frame.
    let mut ticks = Vec::new();
    for _ in 0..30 {
        run(&mut app, 1);
        ticks.extend(app.world_mut().resource_mut::<ModMessages>().read::<FixedTick>(&mut cursor));
    }
    // Headless frames are exactly one fixed step long.
    assert!((29..=31).contains(&ticks.len()), "{} fixed steps in 30 frames", ticks.len());
    let step = rocks_game::headless::STEP.as_secs_f32();
    assert!(ticks.iter().all(|t| (t.delta - step).abs() < 1e-5), "{ticks:?}");
}

tests::mirror!(Component BankWallet = "bank_api::Wallet" { coins: u32 });

#[test]
fn mods_build_on_mods_through_a_shared_types_crate_and_a_manifest_dependency() {
    // `tipper` pays `bank` a coin every half second with `bank_api::Deposit`;
    // `bank` credits its `bank_api::Wallet`. Half a second is 30 fixed frames.
    let dir = mod_dir(&["bank", "tipper"]);
    let mut app = start(&headless_config(dir.path()));
    assert_eq!(
        app.world().resource::<engine::runtime::ModRegistry>().mods.iter().map(|m| m.file.as_str()).collect::<Vec<_>>(),
        ["bank.wasm", "tipper.wasm"],
        "the bank loads first"
    );
    run(&mut app, 95);
    let wallets = all_of::<BankWallet>(&mut app);
    assert_eq!(wallets.len(), 1, "{wallets:?}");
    assert!((2..=4).contains(&wallets[0].coins), "about three half-seconds of tips: {wallets:?}");

    // Without the bank, the tipper is left out with what to install.
    let dir = mod_dir(&["tipper"]);
    let app = start(&headless_config(dir.path()));
    assert_failed(&app, "tipper.wasm", &["tipper.wasm", "needs mod bank ^0.1", "install bank ^0.1"]);
}
