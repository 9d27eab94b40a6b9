//! `cargo run --release -p fireflies -- [MODS_DIR] [FRAMES]`: runs the
//! Fireflies example headless (default: `assets/fireflies-mods`, 600
//! frames) and prints the jar.

use bevy::prelude::*;
use fireflies_api::Glow;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "assets/fireflies-mods".into());
    let frames: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(600);
    let mut app = fireflies::headless_app(std::path::absolute(&dir).expect("a folder path"));
    app.add_plugins(bevy::log::LogPlugin::default());
    app.finish();
    app.cleanup();
    for _ in 0..frames {
        app.update();
    }
    let world = app.world_mut();
    for (name, t, glow) in world.query::<(&Name, Option<&Transform>, Option<&Glow>)>().iter(world) {
        let at = t.map_or(String::new(), |t| {
            format!(" at ({:.1}, {:.1}, {:.1})", t.translation.x, t.translation.y, t.translation.z)
        });
        let glow = glow.map_or(String::new(), |g| format!(", glow {:.2}", g.brightness));
        println!("{name}{at}{glow}");
    }
}
