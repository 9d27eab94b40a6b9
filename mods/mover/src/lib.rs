//! Moves every entity that has a [`Velocity`]: `translation += velocity × dt`.
//! The smallest useful mod, and the one `cargo bench --bench ecs_bridge` runs.

use mod_api::prelude::*;
use rocks_api::*;

/// Integrates velocity. `for_each_mut` runs eight entities per loop
/// iteration, so the sandbox's deadline check costs little per entity.
fn integrate(time: Res<Time>, mut movers: Query<(&mut Transform2d, &Velocity)>) {
    let dt = time.delta_secs();
    movers.for_each_mut(|(t, v)| t.translation += v.0 * dt);
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Update, integrate);
}
