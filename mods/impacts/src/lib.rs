//! Pushes apart the two entities of every [`Collision`] the game reports, a
//! collision response. It finds each by id with `Query::get` and
//! `get_mut`, which cost the same however many entities the query matched
//! (`cargo bench -p engine --bench ecs_bridge` times 1,000 of them among
//! 100k entities as `lookup_1k_of_100k`).

use mod_api::prelude::*;
use rocks_api::{Collision, Transform2d};

/// How far apart one collision pushes its two entities, in world units.
const PUSH: f32 = 1.0;

fn push_apart(collisions: MessageReader<Collision>, mut bodies: Query<&mut Transform2d>) {
    for c in collisions.read() {
        let (Some(a), Some(b)) = (bodies.get(c.a), bodies.get(c.b)) else { continue };
        let away = (a.translation - b.translation).normalize_or(Vec2::X) * (PUSH * 0.5);
        if let Some(t) = bodies.get_mut(c.a) {
            t.translation += away;
        }
        if let Some(t) = bodies.get_mut(c.b) {
            t.translation -= away;
        }
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Update, push_apart);
}
