//! A mod with a bug: its `tick` system panics on its third run. The engine
//! disables it with an error naming the mod, the system and the panic
//! message; the game and the other mods go on.

use mod_api::prelude::*;

fn tick(mut runs: Local<u32>) {
    *runs += 1;
    if *runs == 3 {
        panic!("the faulty mod gives up on run {}", *runs);
    }
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Update, tick);
}
