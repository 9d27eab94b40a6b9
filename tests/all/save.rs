//! Save games: the whole game (entities, mod-defined components, mod state)
//! to a RON file and back, from the API, the keys' messages and the CLI.

use engine::runtime::save::{SaveGame, SaveGameRequest, load_game, read_save, save_game, write_save};
use rocks_game::build_app;
use rocks_game::headless::Report;
use rocks_game::saves::SaveLog;
use std::path::Path;
use tests::*;

const MODS: [&str; 5] = ["counter", "mover", "rocks", "rules", "ship"];

/// The demo's mods plus `counter`, playing the demo script for `frames`.
fn playing(dir: &Path, frames: usize) -> engine::bevy::prelude::App {
    let mut config = headless_config(dir);
    config.input = Some(repo().join("assets/input/demo-play.ron"));
    let mut app = start(&config);
    run(&mut app, frames);
    app
}

/// A save's entities as comparable text, without their ids (which a load
/// renews), in a stable order.
fn contents(save: &SaveGame) -> Vec<String> {
    let mut all: Vec<String> = save.entities.iter().map(|e| ron::to_string(&e.components).unwrap()).collect();
    all.sort();
    all
}

fn counter_state(save: &SaveGame) -> &str {
    let counter = save.mods.iter().find(|m| m.name == "counter");
    counter.and_then(|m| m.state.as_deref()).map(|s| s.get_ron()).expect("counter keeps state")
}

#[test]
fn a_save_and_load_round_trip_restores_entities_components_and_state() {
    let dir = mod_dir(&MODS);
    let mut app = playing(dir.path(), 600);
    let out = TempDir::new();
    let path = out.path().join("game.ron");
    let saved = save_game(app.world_mut()).expect("the game saves");
    write_save(&path, &saved).unwrap();
    let text_of = |save: &SaveGame| ron::to_string(save).unwrap();
    assert_eq!(text_of(&read_save(&path).unwrap()), text_of(&saved), "the file holds exactly the snapshot");
    let mut cursor = 0;
    let count_at_save = counter_frame(&mut app, &mut cursor).last().unwrap().count - 1;
    let score_at_save = app.world().resource::<rocks_game::Scoreboard>().score;
    assert!(score_at_save > 0, "the script scored before the save");
    // Saved: every kind of entity and component, mod-defined ones by field.
    let text = std::fs::read_to_string(&path).unwrap();
    for part in
        ["\"arcade_types::Rock\"", "\"rocks_api::Transform2d\"", "\"translation\"", "\"counter::version::Tally\""]
    {
        assert!(text.contains(part), "the save should contain {part}");
    }

    run(&mut app, 120);
    let summary = load_game(app.world_mut(), &path).expect("the save loads");
    assert!(summary.contains("game.ron") && summary.contains("counter") && summary.contains("rules"), "{summary}");
    let reloaded = save_game(app.world_mut()).unwrap();
    assert_eq!(contents(&reloaded), contents(&saved), "the same entities with the same component values");
    assert_eq!(counter_state(&reloaded), counter_state(&saved), "mod state restored");
    assert_eq!(reloaded.frame, saved.frame);

    // The game goes on from the save: the counter from its saved count, the
    // score from the rules mod's saved state.
    let next = counter_frame(&mut app, &mut cursor);
    assert_eq!(next.last().unwrap().count, count_at_save + 1, "counting resumed from the save");
    assert_eq!(app.world().resource::<rocks_game::Scoreboard>().score, score_at_save);
    let [tally] = all_of::<TallyV1>(&mut app)[..] else { panic!("one tally after the load") };
    assert_eq!(tally.frames as u64, count_at_save + 1, "the mod's component was restored with its entity");
    run(&mut app, 60);
    let registry = app.world().resource::<engine::runtime::ModRegistry>();
    assert!(registry.mods.iter().all(|m| m.is_running()), "every mod runs after the load");
}

#[test]
fn headless_runs_save_at_exit_with_save_and_start_from_a_save_with_load() {
    let dir = mod_dir(&MODS);
    let out = TempDir::new();
    let (save, report1, report2) = (out.path().join("s.ron"), out.path().join("r1.ron"), out.path().join("r2.ron"));
    let mut config = headless_config(dir.path());
    config.input = Some(repo().join("assets/input/demo-play.ron"));
    config.frames = Some(600);
    config.save = Some(save.clone());
    config.report = Some(report1.clone());
    build_app(&config).run();
    let first: Report = ron::from_str(&std::fs::read_to_string(&report1).unwrap()).unwrap();
    assert!(first.score > 0 && first.save_errors.is_empty(), "{first:?}");
    // `--frames 600` ran 600 frames of mod systems: the report and the
    // mods' frame counter in the save agree.
    let saved: SaveGame = ron::from_str(&std::fs::read_to_string(&save).unwrap()).unwrap();
    assert_eq!((first.frames, saved.frame), (600, 600));

    let mut config = headless_config(dir.path());
    config.frames = Some(2);
    config.load = Some(save.clone());
    config.report = Some(report2.clone());
    build_app(&config).run();
    let second: Report = ron::from_str(&std::fs::read_to_string(&report2).unwrap()).unwrap();
    assert!(second.save_errors.is_empty(), "{second:?}");
    assert_eq!((second.score, second.lives, second.wave), (first.score, first.lives, first.wave));
}

#[test]
fn a_bad_save_names_the_file_and_the_cause_and_changes_nothing() {
    let dir = mod_dir(&MODS);
    let mut app = playing(dir.path(), 120);
    let out = TempDir::new();
    let good = save_game(app.world_mut()).unwrap();
    let mut cursor = 0;
    counter_frame(&mut app, &mut cursor);

    // Each bad file, loaded the way F9 loads: a request, served at the frame
    // boundary. The error is shown; the game goes on exactly as before.
    let mut load = |app: &mut engine::bevy::prelude::App, name: &str, text: String| -> String {
        let path = out.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let before = app.world_mut().query::<&rocks_api::Transform2d>().iter(app.world()).count();
        let count = counter_frame(app, &mut cursor).last().unwrap().count;
        app.world_mut().write_message(SaveGameRequest::Load(path.clone()));
        let next = counter_frame(app, &mut cursor);
        assert_eq!(next.last().unwrap().count, count + 1, "{name}: the counter was not reset");
        let after = app.world_mut().query::<&rocks_api::Transform2d>().iter(app.world()).count();
        assert!(after.abs_diff(before) <= 4, "{name}: the entities were not replaced ({before} -> {after})");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{name}: the file is left as it was");
        let log = app.world().resource::<SaveLog>();
        let Some((Err(e), _)) = &log.latest else { panic!("{name}: the load must fail") };
        assert!(e.contains(name), "the error names the file: {e}");
        e.clone()
    };

    let e = load(&mut app, "syntax.ron", "(format: 1, frame: 3, seed_calls: 1,\n  mods: [ oops ],\n)".into());
    assert!(e.contains("2:"), "the error gives the line: {e}");

    let mut other = good.clone();
    let counter = other.mods.iter_mut().find(|m| m.name == "counter").unwrap();
    let state = counter.state.as_ref().unwrap().get_ron().replace("name: \"counter\"", "name: \"rocks\"");
    counter.state = Some(ron::value::RawValue::from_boxed_ron(state.into_boxed_str()).unwrap());
    let e = load(&mut app, "other-mod.ron", ron::to_string(&other).unwrap());
    assert!(e.contains("belongs to mod rocks"), "{e}");

    let mut ghost = good.clone();
    ghost.mods[0].name = "ghost".into();
    let e = load(&mut app, "ghost.ron", ron::to_string(&ghost).unwrap());
    assert!(e.contains("ghost") && e.contains("not running"), "{e}");

    let mut bad_value = good.clone();
    let rock = bad_value.entities.iter_mut().find_map(|e| e.components.get_mut("arcade_types::Rock")).unwrap();
    *rock = ron::from_str("{\"size\": \"huge\", \"spin\": 0.5}").unwrap();
    let e = load(&mut app, "bad-value.ron", ron::to_string(&bad_value).unwrap());
    assert!(e.contains("arcade_types::Rock") && e.contains("field size") && e.contains("\"huge\""), "{e}");

    let mut newer = good.clone();
    newer.format = 99;
    let e = load(&mut app, "newer.ron", ron::to_string(&newer).unwrap());
    assert!(e.contains("format 99"), "{e}");

    assert!(app.world().resource::<SaveLog>().errors.len() == 5);
    let registry = app.world().resource::<engine::runtime::ModRegistry>();
    assert!(registry.mods.iter().all(|m| m.is_running()));
}
