//! Reacts to change the way a Bevy system does, with `Changed<T>` and
//! `Added<T>` query filters: a sprite turns red in a frame its entity moved,
//! and an entity that gets a collider is labelled "solid". Each filter sees
//! what changed since the system's last run, whoever changed it (the game,
//! another mod, this one's other systems).

use mod_api::prelude::*;
use rocks_api::{Collider, Label, Sprite, Transform2d};

/// The colour of something that moved since the last frame.
pub const MOVED: Color = Color::rgb(1.0, 0.0, 0.0);

/// `Populated`: in a frame where nothing moved, the host does not call it.
fn redden(mut moved: Populated<&mut Sprite, Changed<Transform2d>>) {
    moved.for_each_mut(|s| s.color = MOVED);
}

fn label(solid: Query<Entity, Added<Collider>>, mut commands: Commands) {
    for e in solid.iter() {
        commands.entity(e).insert(Label::new("solid", 12.0, Color::WHITE));
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Update, (redden, label));
}
