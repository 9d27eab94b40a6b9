//! The demo game, played from a script exactly as `--headless --frames N
//! --input FILE --report FILE` plays it.

use engine::game::build_app;
use engine::game::headless::Report;
use engine::runtime::ModStatus;
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
    let board = *app.world().resource::<engine::game::Scoreboard>();
    assert!(board.score > 0, "scored before the reload: {board:?}");
    replace(dir.path(), "rules.wasm", &mod_bytes("rules"));
    until(&mut app, "rules is reloaded", |app| entry(app, "rules.wasm").reloads == 1);
    run(&mut app, 1);
    let after = *app.world().resource::<engine::game::Scoreboard>();
    assert!(after.score >= board.score, "the score survived: {board:?} -> {after:?}");
    assert!(after.lives <= board.lives && after.lives > 0 || after.game_over);
    assert_eq!(entry(&app, "rules.wasm").last_error, None);
}
