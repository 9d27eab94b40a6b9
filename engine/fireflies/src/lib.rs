//! Fireflies: the second example game, and the proof that the runtime
//! serves any Bevy game. Fireflies fly in a jar (a 3D scene of Bevy
//! `Transform`s, run headless); the game itself only fills the jar and
//! counts. Everything that moves is a mod (`mods/swarm`).
//!
//! [`make_moddable`] is all the host code it takes: the runtime's plugin,
//! then what mods may see and do (Bevy's `Transform` and `Name` through the
//! runtime's adapters, the game's own `Glow` and `Velocity` from the crate
//! it shares with its mods, `fireflies-api`, and one game function).

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use engine::runtime::prelude::*;
use fireflies_api::{CAPACITY, Glow, JAR, Jar, Night, ReleaseFirefly, Velocity};
use std::path::PathBuf;

/// Makes the game moddable: mods from `mods_dir` see fireflies' `Transform`
/// (and, read-only, `GlobalTransform`), `Name`, `Glow` and `Velocity`, the
/// [`Jar`] (read-only) and the [`Night`], and may call [`release_firefly`].
pub fn make_moddable(app: &mut App, mods_dir: PathBuf) {
    app.add_plugins(ModdingPlugins { mods_dir, ..default() })
        .add_mod_adapter::<TransformAdapter>(ModAccess::ReadWrite)
        .add_mod_adapter::<GlobalTransformAdapter>(ModAccess::Read)
        .add_mod_adapter::<NameAdapter>(ModAccess::ReadWrite)
        .add_mod_component::<Glow>(ModAccess::ReadWrite)
        .add_mod_component::<Velocity>(ModAccess::ReadWrite)
        .add_mod_resource::<Jar>(ModAccess::Read)
        .add_mod_resource::<Night>(ModAccess::ReadWrite)
        .add_mod_function(ReleaseFirefly, release_firefly);
}

/// The game function mods call ([`ReleaseFirefly`]): a new firefly at `at`,
/// glowing dimly and flying slowly; it joins the world when the calling mod
/// system has returned. Answers how many the jar then holds, or why not.
pub fn release_firefly(In(at): In<Vec3>, mut jar: ResMut<Jar>, mut commands: Commands) -> Result<u32, String> {
    if at.abs().max_element() > JAR {
        return Err(format!("({}, {}, {}) is outside the jar", at.x, at.y, at.z));
    }
    if jar.fireflies >= jar.capacity {
        return Err(format!("the jar is full ({} fireflies)", jar.capacity));
    }
    jar.fireflies += 1;
    commands.spawn(firefly(at, Vec3::new(0.5, 0.25, -0.5), jar.fireflies));
    Ok(jar.fireflies)
}

/// A firefly's components.
fn firefly(at: Vec3, velocity: Vec3, n: u32) -> impl Bundle {
    (
        Transform::from_translation(at),
        Velocity(velocity),
        Glow { brightness: 0.2, phase: 0.0 },
        Name::new(format!("firefly {n}")),
    )
}

/// Three fireflies to start with.
fn fill_jar(mut commands: Commands, mut jar: ResMut<Jar>) {
    for (n, (at, v)) in
        [(Vec3::ZERO, Vec3::X), (Vec3::new(2.0, 1.0, 0.0), Vec3::Y), (Vec3::NEG_Z, Vec3::Z)].into_iter().enumerate()
    {
        commands.spawn(firefly(at, v * 2.0, n as u32 + 1));
    }
    jar.fireflies = 3;
}

/// The jar's count, every frame (a firefly a mod despawns frees its place).
fn count_fireflies(flies: Query<(), With<Glow>>, mut jar: ResMut<Jar>) {
    jar.fireflies = flies.iter().count() as u32;
}

/// The game without a window, at a fixed 1/60 s per frame: Bevy's minimal
/// plugins, assets (which load the mods) and transforms.
pub fn headless_app(mods_dir: PathBuf) -> App {
    let mut app = App::new();
    // NOTE: the modding plugin registers an asset source, so it goes before the asset plugin.
    make_moddable(&mut app, mods_dir);
    app.add_plugins((MinimalPlugins, AssetPlugin::default(), TransformPlugin))
        .insert_resource(TimeUpdateStrategy::ManualDuration(std::time::Duration::from_secs_f64(1.0 / 60.0)))
        .insert_resource(Jar { fireflies: 0, capacity: CAPACITY })
        .insert_resource(Night { darkness: 1.0 })
        .add_systems(Startup, fill_jar)
        .add_systems(First, count_fireflies);
    app
}
