//! The demo game, played from a script exactly as `--headless --frames N
//! --input FILE --report FILE` plays it.

use engine::runtime::ModStatus;
use rocks_game::build_app;
use rocks_game::headless::Report;
use tests::*;

/// Plays the demo's four mods for 1800 frames from the repo's input script.
fn scripted_play() -> Report {
    let dir = mod_dir(&["mover", "rocks", "rules", "ship"]);
    let out = TempDir::new();
    let report_path = out.path().join("report.ron");
    let mut config = headless_config(dir.path());
    config.frames = Some(1800);
    config.input = Some(repo().join("assets/input/demo-play.ron"));
    config.report = Some(report_path.clone());
    build_app(&config).run();
    let text = std::fs::read_to_string(&report_path).expect("the run wrote its report");
    ron::from_str(&text).expect("the report is valid RON")
}

#[test]
fn a_scripted_play_scores_points_and_loses_a_life() {
    let report = scripted_play();
    assert_eq!(report.frames, 1800);
    let names: Vec<&str> = report.mods.iter().map(|m| m.name.as_str()).collect();
    // Load order: dependencies first (rules needs rocks, works with ship), then by id.
    assert_eq!(names, ["mover", "rocks", "ship", "rules"]);
    assert!(report.mods.iter().all(|m| m.status == ModStatus::Running && m.version == "0.1.0"), "{report:?}");
    assert!(report.score > 0, "shooting rocks scores: {report:?}");
    assert!(report.lives < 3, "rocks hit the ship at least once: {report:?}");
    assert!(report.entities > 0);
}

#[test]
fn the_report_names_a_failed_mod_and_its_error() {
    let dir = mod_dir(&["mover"]);
    std::fs::write(dir.path().join("broken.wasm"), b"\0asm\x01\0\0\0garbage").unwrap();
    let out = TempDir::new();
    let mut config = headless_config(dir.path());
    config.frames = Some(10);
    config.report = Some(out.path().join("r.ron"));
    build_app(&config).run();
    let report: Report = ron::from_str(&std::fs::read_to_string(out.path().join("r.ron")).unwrap()).unwrap();
    let broken = report.mods.iter().find(|m| m.file == "broken.wasm").expect("listed");
    assert!(matches!(&broken.status, ModStatus::Failed(e) if e.contains("broken.wasm")), "{broken:?}");
    assert_eq!(report.mods.iter().find(|m| m.file == "mover.wasm").unwrap().status, ModStatus::Running);
}

#[test]
fn a_scripted_play_is_reproducible() {
    // Frame numbers and seeds count from the mods' start, not from launch,
    // so compile time does not change what happens.
    assert_eq!(scripted_play(), scripted_play());
}

#[test]
fn reloading_the_rules_mod_mid_game_keeps_the_score() {
    let dir = mod_dir(&["mover", "rocks", "rules", "ship"]);
    let mut config = headless_config(dir.path());
    config.input = Some(repo().join("assets/input/demo-play.ron"));
    let mut app = start(&config);
    run(&mut app, 900);
    let board = *app.world().resource::<rocks_game::Scoreboard>();
    assert!(board.score > 0, "scored before the reload: {board:?}");
    replace(dir.path(), "rules.wasm", &new_version("rules"));
    until(&mut app, "rules is reloaded", |app| entry(app, "rules.wasm").reloads == 1);
    run(&mut app, 1);
    let after = *app.world().resource::<rocks_game::Scoreboard>();
    assert!(after.score >= board.score, "the score survived: {board:?} -> {after:?}");
    assert!(after.lives <= board.lives && after.lives > 0 || after.game_over);
    assert_eq!(entry(&app, "rules.wasm").last_error, None);
}

/// A long game, as a player plays it: several games end (no lives left),
/// Enter restarts them, and every mod keeps running throughout. (The `rules`
/// mod once trapped around game over, when no bullet was in flight.)
#[test]
fn a_long_play_goes_past_game_over_and_a_restart_with_every_mod_running() {
    let dir = mod_dir(&["mover", "rocks", "rules", "ship"]);
    let mut config = headless_config(dir.path());
    config.input = Some(repo().join("assets/input/long-play.ron"));
    let mut app = start(&config);
    let (mut game_overs, mut restarts, mut scored_after_restart) = (0, 0, false);
    let mut was_over = false;
    for _ in 0..6000 {
        run(&mut app, 1);
        let board = *app.world().resource::<rocks_game::Scoreboard>();
        if board.game_over && !was_over {
            game_overs += 1;
        }
        if was_over && !board.game_over {
            restarts += 1;
            assert_eq!((board.lives, board.score), (3, 0), "a restart starts a new game: {board:?}");
        }
        scored_after_restart |= restarts > 0 && board.score > 0;
        was_over = board.game_over;
        let registry = app.world().resource::<engine::runtime::ModRegistry>();
        for m in &registry.mods {
            assert_eq!(m.status(), ModStatus::Running, "{} stopped: {:?}", m.file, m.status());
        }
    }
    assert!(game_overs >= 2 && restarts >= 1, "{game_overs} game overs, {restarts} restarts");
    assert!(scored_after_restart, "the second game scores");
}

/// Positions of the rocks (entities with `arcade_types::Rock`), sorted.
fn rock_positions(app: &mut engine::bevy::prelude::App) -> Vec<(u32, u32)> {
    use engine::bevy::ecs::query::QueryBuilder;
    let rock = app.world().resource::<engine::runtime::ModComponents>().get("arcade_types::Rock").unwrap().id;
    let world = app.world_mut();
    let mut q = QueryBuilder::<&rocks_api::Transform2d>::new(world).with_id(rock).build();
    let mut at: Vec<(u32, u32)> =
        q.iter(world).map(|t| (t.translation.x.to_bits(), t.translation.y.to_bits())).collect();
    at.sort();
    at
}

/// A mod's random numbers depend only on the run's seed, its id, its
/// system and the frame: installing another mod (here `counter`, which
/// loads first) does not move a single rock.
#[test]
fn installing_another_mod_does_not_change_a_mods_random_numbers() {
    let rocks_after = |mods: &[&str]| {
        let dir = mod_dir(mods);
        let mut app = start(&headless_config(dir.path()));
        run(&mut app, 120);
        rock_positions(&mut app)
    };
    let alone = rocks_after(&["mover", "rocks", "rules", "ship"]);
    assert!(!alone.is_empty(), "rocks were spawned");
    assert_eq!(rocks_after(&["counter", "mover", "rocks", "rules", "ship"]), alone);
}

/// `--report-state MOD` puts that mod's saved state in the report, so a
/// modder sees what their mod did without reading a save file.
#[test]
fn a_report_can_include_the_saved_state_of_chosen_mods() {
    let dir = mod_dir(&["counter", "mover"]);
    let out = TempDir::new();
    let mut config = headless_config(dir.path());
    config.frames = Some(30);
    config.report = Some(out.path().join("r.ron"));
    config.report_state = vec!["counter".into()];
    build_app(&config).run();
    let report: Report = ron::from_str(&std::fs::read_to_string(out.path().join("r.ron")).unwrap()).unwrap();
    let counter = report.mods.iter().find(|m| m.name == "counter").expect("listed");
    let state = counter.state.as_ref().expect("the counter's state is in the report").get_ron().to_string();
    assert!(state.contains("frames: 30"), "{state}");
    let mover = report.mods.iter().find(|m| m.name == "mover").expect("listed");
    assert!(mover.state.is_none(), "only the chosen mods: {mover:?}");
}
