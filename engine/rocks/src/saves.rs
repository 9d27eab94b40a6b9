//! Save games in the demo: F5 saves, F9 loads (the runtime does the work,
//! see [`engine::runtime::save`]); `--load FILE` starts from a save, and a
//! headless run with `--save FILE` saves when it ends. Every outcome is
//! logged, shown on screen and, if it failed, kept for the report.

use super::GameConfig;
use bevy::input::keyboard::KeyCode as BevyKey;
use bevy::prelude::*;
use engine::runtime::ModRegistry;
use engine::runtime::save::{SaveGameDone, SaveGameRequest, save_game, write_save};
use std::path::PathBuf;
use std::time::Duration;

/// Save game outcomes: the latest for the HUD, every failure for the report.
#[derive(Resource, Default)]
pub struct SaveLog {
    /// The latest outcome, and how long ago it happened.
    pub latest: Option<(Result<String, String>, Duration)>,
    pub errors: Vec<String>,
}

#[derive(Resource)]
struct SavePaths {
    save: PathBuf,
    load: Option<PathBuf>,
    save_on_exit: bool,
}

pub(super) fn add_saves(app: &mut App, config: &GameConfig) {
    let save = config.save.clone().unwrap_or_else(|| PathBuf::from(super::QUICKSAVE));
    let paths = SavePaths { save, load: config.load.clone(), save_on_exit: config.headless && config.save.is_some() };
    app.insert_resource(paths)
        .init_resource::<SaveLog>()
        .add_systems(Update, (load_at_start, save_keys, record_outcomes))
        .add_systems(Last, save_on_exit);
}

/// `--load`: once every mod has started (or failed), load the save.
fn load_at_start(
    registry: Res<ModRegistry>,
    mut paths: ResMut<SavePaths>,
    mut requests: MessageWriter<SaveGameRequest>,
) {
    if registry.settled()
        && let Some(path) = paths.load.take()
    {
        requests.write(SaveGameRequest::Load(path));
    }
}

fn save_keys(
    keys: Option<Res<ButtonInput<BevyKey>>>,
    paths: Res<SavePaths>,
    mut requests: MessageWriter<SaveGameRequest>,
) {
    let Some(keys) = keys else { return };
    if keys.just_pressed(BevyKey::F5) {
        requests.write(SaveGameRequest::Save(paths.save.clone()));
    }
    if keys.just_pressed(BevyKey::F9) {
        requests.write(SaveGameRequest::Load(paths.save.clone()));
    }
}

fn record_outcomes(time: Res<Time>, mut done: MessageReader<SaveGameDone>, mut log: ResMut<SaveLog>) {
    if let Some((_, age)) = &mut log.latest {
        *age += time.delta();
    }
    for d in done.read() {
        if let Err(e) = &d.result {
            log.errors.push(e.clone());
        }
        log.latest = Some((d.result.clone(), Duration::ZERO));
    }
}

/// Headless `--save FILE`: the game as it is when the run ends.
pub(super) fn save_on_exit(world: &mut World) {
    let exiting = !world.resource::<Messages<AppExit>>().is_empty();
    let paths = world.resource::<SavePaths>();
    if !exiting || !paths.save_on_exit {
        return;
    }
    let path = paths.save.clone();
    let result = save_game(world).and_then(|save| write_save(&path, &save));
    match result {
        Ok(()) => info!("game saved to {}", path.display()),
        Err(e) => {
            error!("{e}");
            world.resource_mut::<SaveLog>().errors.push(e);
        }
    }
}
