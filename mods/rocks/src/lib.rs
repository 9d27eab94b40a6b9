//! Asteroid waves: each wave brings more rocks from the edges; a shot rock
//! (reported by `rules`) splits in two smaller ones. Also wraps everything
//! marked [`Wrap`] around the field's edges, and spins the rocks.

use arcade_types::{GameReset, HALF_FIELD, Rock, RockDestroyed, WaveStarted, Wrap, layer};
use mod_api::prelude::*;
use rocks_api::*;
use serde::{Deserialize, Serialize};

/// The current wave, kept in the mod's memory.
#[derive(Resource, Default, Serialize, Deserialize)]
struct Waves {
    wave: u32,
    /// Seconds until the next wave once the field is clear.
    pause: f32,
}

fn radius(size: u32) -> f32 {
    12.0 * size as f32 + 6.0
}

fn rock(
    position: Vec2,
    velocity: Vec2,
    size: u32,
    rng: &mut Rng,
) -> (Transform2d, Velocity, Sprite, Collider, Rock, Wrap) {
    let r = radius(size);
    let grey = rng.range(0.4, 0.6);
    (
        Transform2d { translation: position, rotation: rng.range(0.0, core::f32::consts::TAU), scale: 1.0 },
        Velocity(velocity),
        Sprite::new(Shape::Hexagon, Vec2::splat(r * 2.1), Color::rgb(grey, grey * 0.85, grey * 0.7)),
        Collider { radius: r, layer: layer::ROCK, mask: 0 },
        Rock { size, spin: rng.range(-1.5, 1.5) },
        Wrap,
    )
}

fn spawn_wave(
    time: Res<Time>,
    mut waves: ResMut<Waves>,
    rocks: Query<&Rock>,
    mut commands: Commands,
    mut started: MessageWriter<WaveStarted>,
) {
    if !rocks.is_empty() {
        return;
    }
    waves.pause -= time.delta_secs();
    if waves.pause > 0.0 {
        return;
    }
    waves.wave += 1;
    waves.pause = 1.5;
    let mut rng = Rng::new(time.seed());
    for _ in 0..(2 + 2 * waves.wave).min(12) {
        // Start on the field's edge, heading roughly inwards.
        let angle = rng.range(0.0, core::f32::consts::TAU);
        let edge = Vec2::new(angle.cos(), angle.sin()) * HALF_FIELD.length();
        let position = edge.clamp(-HALF_FIELD, HALF_FIELD);
        let heading = (-position).normalize_or_zero().rotate(Vec2::from_angle(rng.range(-0.6, 0.6)));
        let speed = rng.range(40.0, 90.0) + 8.0 * waves.wave as f32;
        commands.spawn(rock(position, heading * speed, 3, &mut rng));
    }
    started.write(WaveStarted { wave: waves.wave });
    info!("wave {} begins", waves.wave);
}

fn split(time: Res<Time>, destroyed: MessageReader<RockDestroyed>, mut commands: Commands) {
    let mut rng = Rng::new(time.seed());
    for d in destroyed.read() {
        if d.size <= 1 {
            continue;
        }
        for side in [-1.0f32, 1.0] {
            let dir = d.velocity.normalize_or(Vec2::X).rotate(Vec2::from_angle(side * rng.range(0.4, 1.0)));
            let speed = d.velocity.length() * 1.3 + 30.0;
            commands.spawn(rock(d.position + dir * 8.0, dir * speed, d.size - 1, &mut rng));
        }
    }
}

fn reset(
    resets: MessageReader<GameReset>,
    mut waves: ResMut<Waves>,
    rocks: Query<(Entity, &Rock)>,
    mut commands: Commands,
) {
    if resets.is_empty() {
        return;
    }
    *waves = Waves::default();
    for (e, _) in rocks.iter() {
        commands.entity(e).despawn();
    }
}

fn spin(time: Res<Time>, mut rocks: Query<(&mut Transform2d, &Rock)>) {
    let dt = time.delta_secs();
    rocks.for_each_mut(|(t, r)| t.rotation += r.spin * dt);
}

fn wrap(mut q: Query<&mut Transform2d, With<Wrap>>) {
    let margin = Vec2::splat(30.0);
    let (lo, hi) = (-HALF_FIELD - margin, HALF_FIELD + margin);
    q.for_each_mut(|t| {
        let p = &mut t.translation;
        if p.x < lo.x {
            p.x = hi.x
        } else if p.x > hi.x {
            p.x = lo.x
        }
        if p.y < lo.y {
            p.y = hi.y
        } else if p.y > hi.y {
            p.y = lo.y
        }
    });
}

#[mod_main]
fn main(app: &mut App) {
    app.init_saved_resource::<Waves>().add_systems(Update, (reset, split, spawn_wave, spin, wrap).chain());
}
