//! The player's ship: ←/→ (or A/D) turn, ↑ (or W) thrusts, Space fires.
//! Respawns at the centre when `rules` says it was hit.

use arcade_types::{Bullet, GameReset, ShipHit, Wrap, layer};
use mod_api::prelude::*;
use rocks_api::*;

const TURN: f32 = 4.0; // rad/s
const THRUST: f32 = 420.0; // units/s²
const DRAG: f32 = 0.6; // fraction of speed lost per second
const MAX_SPEED: f32 = 480.0;
const BULLET_SPEED: f32 = 700.0;
const FIRE_INTERVAL: f32 = 0.18;
const SHIP_COLOR: Color = Color::rgb(0.85, 0.95, 1.0);

fn ship_bundle() -> (Transform2d, Velocity, Sprite, Collider, Ship, Wrap) {
    (
        Transform2d::default(),
        Velocity::default(),
        Sprite::new(Shape::Triangle, Vec2::new(24.0, 32.0), SHIP_COLOR),
        Collider { radius: 13.0, layer: layer::SHIP, mask: layer::ROCK },
        Ship { cooldown: 0.0, invulnerable: 2.0, parked: 0 },
        Wrap,
    )
}

use arcade_types::Ship;

fn spawn_ship(mut commands: Commands) {
    commands.spawn(ship_bundle());
}

fn steer(
    time: Res<Time>,
    keys: Res<Keyboard>,
    mut ships: Query<(&mut Transform2d, &mut Velocity, &mut Ship, &mut Sprite)>,
    mut commands: Commands,
) {
    let dt = time.delta_secs();
    for (t, v, ship, sprite) in ships.iter_mut() {
        if ship.parked == 1 {
            continue;
        }
        let turn = keys.any_pressed([KeyCode::ArrowLeft, KeyCode::A]) as i32 as f32
            - keys.any_pressed([KeyCode::ArrowRight, KeyCode::D]) as i32 as f32;
        t.rotation += turn * TURN * dt;
        if keys.any_pressed([KeyCode::ArrowUp, KeyCode::W]) {
            v.0 += t.forward() * THRUST * dt;
        }
        v.0 *= 1.0 - DRAG * dt;
        v.0 = v.0.clamp_length_max(MAX_SPEED);

        ship.cooldown = (ship.cooldown - dt).max(0.0);
        ship.invulnerable = (ship.invulnerable - dt).max(0.0);
        // Blink while invulnerable.
        let blink = ship.invulnerable > 0.0 && (ship.invulnerable * 10.0) as i32 % 2 == 0;
        sprite.color = if blink { Color { a: 0.25, ..SHIP_COLOR } } else { SHIP_COLOR };

        if keys.pressed(KeyCode::Space) && ship.cooldown == 0.0 {
            ship.cooldown = FIRE_INTERVAL;
            let dir = t.forward();
            commands.spawn((
                Transform2d { translation: t.translation + dir * 20.0, rotation: t.rotation, scale: 1.0 },
                Velocity(dir * BULLET_SPEED + v.0),
                Sprite::new(Shape::Circle, Vec2::splat(6.0), Color::YELLOW),
                Collider { radius: 4.0, layer: layer::BULLET, mask: layer::ROCK },
                Bullet { ttl: 0.9 },
                Wrap,
            ));
        }
    }
}

fn expire_bullets(time: Res<Time>, mut bullets: Query<(Entity, &mut Bullet)>, mut commands: Commands) {
    for (e, b) in bullets.iter_mut() {
        b.ttl -= time.delta_secs();
        if b.ttl <= 0.0 {
            commands.entity(e).despawn();
        }
    }
}

/// After a hit: back to the centre, at rest, invulnerable a while; parked
/// (hidden, still) when no lives are left. A new game unparks it.
fn respawn(
    hits: MessageReader<ShipHit>,
    resets: MessageReader<GameReset>,
    mut ships: Query<(&mut Transform2d, &mut Velocity, &mut Ship, &mut Sprite)>,
) {
    let hit = hits.read().last().copied();
    let reset = !resets.is_empty();
    if hit.is_none() && !reset {
        return;
    }
    for (t, v, ship, sprite) in ships.iter_mut() {
        *t = Transform2d::default();
        v.0 = Vec2::ZERO;
        ship.invulnerable = 2.0;
        let parked = !reset && hit.is_some_and(|h| h.lives == 0);
        ship.parked = parked as u32;
        sprite.color.a = if parked { 0.0 } else { 1.0 };
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Startup, spawn_ship).add_systems(Update, (respawn, steer, expire_bullets).chain());
}
