//! Moves every entity that has a [`Velocity`]: `translation += velocity × dt`.
//! The smallest useful mod, and the one `cargo bench --bench ecs_bridge` runs.

use mod_api::prelude::*;

/// Integrates velocity, one table at a time, over plain slices so the loop
/// vectorises (the workspace builds mods with `simd128`).
fn integrate(time: Res<Time>, mut movers: Query<(&mut Transform2d, &Velocity)>) {
    let dt = time.delta_secs();
    for (transforms, velocities) in movers.iter_batches_mut() {
        for (t, v) in transforms.iter_mut().zip(velocities) {
            t.translation += v.0 * dt;
        }
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Update, integrate);
}
