//! What the in-game mod manager does, through the runtime's `ModControl`
//! messages: disable a mod (it stops, keeping its state), enable it again
//! (it goes on from where it stopped), reload it; and each mod's time per frame.

use engine::bevy::prelude::*;
use engine::runtime::{ModControl, ModStatus};
use rocks_api::{Transform2d, Velocity};
use tests::*;

fn control(app: &mut App, request: ModControl) {
    app.world_mut().write_message(request);
}

fn x_of(app: &App, e: Entity) -> f32 {
    app.world().get::<Transform2d>(e).unwrap().translation.x
}

#[test]
fn a_disabled_mod_stops_and_an_enabled_one_goes_on_where_it_stopped() {
    let dir = mod_dir(&["mover", "counter"]);
    let mut app = start(&headless_config(dir.path()));
    let e = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X * 60.0))).id();
    let mut cursor = 0;
    let mut last = 0;
    for _ in 0..5 {
        last = counter_frame(&mut app, &mut cursor).last().map_or(last, |v| v.count);
    }
    control(&mut app, ModControl::Disable("counter".into()));
    control(&mut app, ModControl::Disable("mover.wasm".into()));
    run(&mut app, 1);
    assert_eq!(status(&app, "counter.wasm"), ModStatus::Disabled);
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Disabled);
    let counted: Vec<u64> = (0..10).flat_map(|_| counter_frame(&mut app, &mut cursor)).map(|v| v.count).collect();
    assert!(counted.len() <= 1, "a disabled mod does not run: {counted:?}");
    let x = x_of(&app, e);
    run(&mut app, 10);
    assert_eq!(x_of(&app, e), x, "mover is disabled: nothing moves");
    last = counted.last().copied().unwrap_or(last);

    control(&mut app, ModControl::Enable("counter".into()));
    control(&mut app, ModControl::Enable("mover".into()));
    let next: Vec<u64> = (0..3).flat_map(|_| counter_frame(&mut app, &mut cursor)).map(|v| v.count).collect();
    assert_eq!(next.first(), Some(&(last + 1)), "the counter goes on from its state: {next:?} after {last}");
    run(&mut app, 5);
    assert!(x_of(&app, e) > x, "mover moves again");
    assert_eq!(status(&app, "counter.wasm"), ModStatus::Running);
}

#[test]
fn a_reload_request_swaps_in_the_file_again_and_a_disabled_mod_stays_disabled() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    control(&mut app, ModControl::Reload("mover".into()));
    until(&mut app, "mover is reloaded", |app| entry(app, "mover.wasm").reloads == 1);
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
    control(&mut app, ModControl::Disable("mover".into()));
    control(&mut app, ModControl::Reload("mover".into()));
    until(&mut app, "mover is reloaded again", |app| entry(app, "mover.wasm").reloads == 2);
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Disabled);
}

#[test]
fn a_request_for_a_mod_that_is_not_there_changes_nothing() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    control(&mut app, ModControl::Disable("nothing".into()));
    run(&mut app, 2);
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
}

#[test]
fn each_mod_reports_its_time_per_frame() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    app.world_mut().spawn_batch((0..1000).map(|i| (Transform2d::from_xy(i as f32, 0.0), Velocity(Vec2::X))));
    run(&mut app, 10);
    assert!(entry(&app, "mover.wasm").time_per_frame > std::time::Duration::ZERO, "the time is measured");
}
