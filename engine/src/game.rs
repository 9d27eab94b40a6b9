use bevy::prelude::*; pub fn _x(_: &mut App) {}
