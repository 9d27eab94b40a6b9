//! The rules: bullets break rocks (score by size), rocks break the ship
//! (a life), no lives left is game over, Enter starts again. Reads the
//! engine's [`Collision`]s, tells `rocks` and `ship` what happened, and
//! reports the score to the engine's HUD.

use arcade_types::{Bullet, GameReset, Rock, RockDestroyed, Ship, ShipHit, WaveStarted};
use mod_api::prelude::*;
use rocks_api::*;
use serde::{Deserialize, Serialize};

const LIVES: u32 = 3;

/// A floating "+50" where a rock was shot; fades out.
#[derive(Component, Clone, Copy)]
#[repr(C)]
struct Popup {
    ttl: f32,
}

const POPUP_SECS: f32 = 0.8;

#[derive(Resource, Serialize, Deserialize)]
struct Game {
    score: u32,
    lives: u32,
    wave: u32,
    over: bool,
}

impl Default for Game {
    fn default() -> Self {
        Game { score: 0, lives: LIVES, wave: 0, over: false }
    }
}

/// Points for a rock of `size`: small rocks are worth more.
fn points(size: u32) -> u32 {
    match size {
        3 => 20,
        2 => 50,
        _ => 100,
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_hits(
    collisions: MessageReader<Collision>,
    mut game: ResMut<Game>,
    bullets: Query<&Bullet>,
    rocks: Query<(&Rock, &Transform2d, &Velocity)>,
    ships: Query<&Ship>,
    mut commands: Commands,
    mut destroyed: MessageWriter<RockDestroyed>,
    mut hits: MessageWriter<ShipHit>,
) {
    // A rock or bullet can be named by several collisions in one frame:
    // each takes part in at most one.
    let mut gone: Vec<Entity> = Vec::new();
    for c in collisions.read() {
        if gone.contains(&c.a) || gone.contains(&c.b) {
            continue;
        }
        let Some((rock, t, v)) = rocks.get(c.b) else { continue };
        if bullets.contains(c.a) {
            gone.extend([c.a, c.b]);
            commands.entity(c.a).despawn();
            commands.entity(c.b).despawn();
            game.score += points(rock.size);
            destroyed.write(RockDestroyed { position: t.translation, velocity: v.0, size: rock.size });
            commands.spawn((
                Transform2d { translation: t.translation, ..Default::default() },
                Velocity(Vec2::new(0.0, 40.0)),
                Label::new(&format!("+{}", points(rock.size)), 22.0, Color::YELLOW),
                Popup { ttl: POPUP_SECS },
            ));
        } else if let Some(ship) = ships.get(c.a) {
            if game.over || ship.invulnerable > 0.0 || ship.parked == 1 {
                continue;
            }
            gone.push(c.a);
            game.lives = game.lives.saturating_sub(1);
            game.over = game.lives == 0;
            hits.write(ShipHit { lives: game.lives });
            if game.over {
                info!("game over with {} points", game.score);
            }
        }
    }
}

fn fade_popups(time: Res<Time>, mut popups: Query<(Entity, &mut Popup, &mut Label)>, mut commands: Commands) {
    for (e, popup, label) in popups.iter_mut() {
        popup.ttl -= time.delta_secs();
        label.color.a = (popup.ttl / POPUP_SECS).clamp(0.0, 1.0);
        if popup.ttl <= 0.0 {
            commands.entity(e).despawn();
        }
    }
}

fn track_waves(waves: MessageReader<WaveStarted>, mut game: ResMut<Game>) {
    if let Some(w) = waves.read().last() {
        game.wave = w.wave;
    }
}

fn restart(keys: Res<Keyboard>, time: Res<Time>, mut game: ResMut<Game>, mut resets: MessageWriter<GameReset>) {
    if game.over && keys.just_pressed(KeyCode::Enter) {
        *game = Game::default();
        resets.write(GameReset { seed: time.seed() as u32 });
    }
}

fn report(game: Res<Game>, mut scores: MessageWriter<ScoreChanged>) {
    scores.write(ScoreChanged { score: game.score, lives: game.lives, game_over: game.over as u32, wave: game.wave });
}

#[mod_main]
fn main(app: &mut App) {
    app.init_saved_resource::<Game>()
        .add_systems(Update, (track_waves, resolve_hits, restart, report).chain())
        .add_systems(Update, fade_popups);
}
