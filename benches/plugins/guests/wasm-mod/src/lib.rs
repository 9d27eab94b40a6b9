//! The `plugins` benchmark's workloads as mod systems (see
//! `benches/plugins/src/wasm_mod.rs`). The benchmark runs one system at a
//! time, by name; each calls the same workload code as the native Bevy
//! systems in `benches/plugins/src/native.rs`.

use mod_api::prelude::*;
use plugin_workload::{self as workload, Boids, Ping, Pong, V2};
use rocks_api::{Transform2d, Velocity};
use serde::{Deserialize, Serialize};

/// The mod's saved state: how many `integrate` frames it ran.
#[derive(Resource, Default, Serialize, Deserialize)]
struct Frames {
    count: u64,
}

/// `call_overhead`: a system with no parameters and no work.
fn noop() {}

/// `integrate_*`: `pos += vel × dt`.
fn integrate(time: Res<Time>, mut frames: ResMut<Frames>, mut bodies: Query<(&mut Transform2d, &Velocity)>) {
    frames.count += 1;
    let dt = time.delta_secs();
    bodies.for_each_mut(|(t, v)| {
        let mut p = t.translation.to_array();
        workload::integrate_one(&mut p, v.0.to_array(), dt);
        t.translation = Vec2::from_array(p);
    });
}

/// Scratch space of [`flock`], kept between frames.
#[derive(Default)]
struct Flock {
    boids: Boids,
    pos: Vec<V2>,
    vel: Vec<V2>,
}

/// `boids_2k`: gather the bodies, one flocking step, write them back.
fn flock(time: Res<Time>, mut bodies: Query<(&mut Transform2d, &mut Velocity)>, mut scratch: Local<Flock>) {
    let Flock { boids, pos, vel } = &mut *scratch;
    pos.clear();
    vel.clear();
    for (t, v) in bodies.iter() {
        pos.push(t.translation.to_array());
        vel.push(v.0.to_array());
    }
    boids.step(pos, vel, time.delta_secs());
    for ((t, v), (p, w)) in bodies.iter_mut().zip(pos.iter().zip(vel.iter())) {
        t.translation = Vec2::from_array(*p);
        v.0 = Vec2::from_array(*w);
    }
}

/// `events_10k`: answers every `Ping` with a `Pong`.
fn answer(pings: MessageReader<Ping>, mut pongs: MessageWriter<Pong>) {
    pongs.write_batch(pings.read().map(workload::answer));
}

#[mod_main]
fn main(app: &mut App) {
    app.init_saved_resource::<Frames>().add_systems(Update, (noop, integrate, flock, answer));
}
