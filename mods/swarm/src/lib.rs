//! The Fireflies example game's mod (`engine/fireflies`): it flies the
//! fireflies through Bevy's own `Transform`, makes them blink by changing
//! the game's `Glow`, and releases more by calling the game's function
//! `ReleaseFirefly` until the jar is full. A refusal it gets back is put on
//! an entity's `Name`, where the game (and its test) can read it. It reads
//! the game's `Jar` and sets the game's `Night` from it.

use fireflies_api::{Glow, JAR, Jar, Night, ReleaseFirefly, Velocity};
use mod_api::prelude::*;

/// Moves every firefly by its velocity: `translation += velocity × dt`.
/// (`cargo bench -p engine --bench ecs_bridge` times it as
/// `integrate_transform_100k`.)
fn fly(time: Res<Time>, mut flies: Query<(&mut Transform, &Velocity)>) {
    let dt = time.delta_secs();
    flies.for_each_mut(|(t, v)| t.translation += v.0 * dt);
}

/// Turns a firefly around at the jar's walls. Only one that moved since this
/// system last ran can have crossed one: `Changed<Transform>` (through
/// Bevy's `Transform`, which mods see as a view) leaves the others out.
fn bounce(mut flies: Query<(&mut Transform, &mut Velocity), Changed<Transform>>) {
    flies.for_each_mut(|(t, v)| {
        for axis in 0..3 {
            if t.translation[axis].abs() > JAR {
                t.translation[axis] = t.translation[axis].clamp(-JAR, JAR);
                v.0[axis] = -v.0[axis];
            }
        }
    });
}

/// Fireflies blink: each one's phase advances and its brightness follows.
fn blink(time: Res<Time>, mut glows: Query<&mut Glow>) {
    let dt = time.delta_secs();
    glows.for_each_mut(|g| {
        g.phase = (g.phase + 3.0 * dt) % core::f32::consts::TAU;
        g.brightness = 0.5 + 0.5 * g.phase.sin();
    });
}

/// The fuller the jar (the game's resource, read-only), the lighter the
/// night (the game's resource, which mods may change).
fn dusk(jar: Res<Jar>, mut night: ResMut<Night>) {
    night.darkness = 1.0 - 0.5 * jar.fireflies as f32 / jar.capacity.max(1) as f32;
}

/// Where a new firefly goes, and whether the jar took the last one.
#[derive(Default)]
struct Releasing {
    since: f32,
    released: u32,
    full: bool,
}

/// Every half second, releases a firefly into the jar until the game
/// refuses (the jar is full); the refusal is named on an entity.
fn release(time: Res<Time>, jar: GameFn<ReleaseFirefly>, mut state: Local<Releasing>, mut commands: Commands) {
    if state.full {
        return;
    }
    state.since += time.delta_secs();
    if state.since < 0.5 {
        return;
    }
    state.since = 0.0;
    let k = state.released as f32;
    match jar.call(Vec3::new(k - 4.0, 0.5 * k - 2.0, 1.0)) {
        Ok(count) => {
            state.released += 1;
            info!("released a firefly; the jar holds {count}");
        }
        Err(why) => {
            state.full = true;
            commands.spawn(Name::new(&format!("refused: {why}")));
        }
    }
}

/// At start, asks for a firefly outside the jar, which the game refuses.
fn probe(jar: GameFn<ReleaseFirefly>, mut commands: Commands) {
    if let Err(why) = jar.call(Vec3::splat(100.0)) {
        commands.spawn(Name::new(&format!("refused: {why}")));
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Startup, probe).add_systems(Update, (fly, bounce.after(fly), blink, release, dusk));
}
