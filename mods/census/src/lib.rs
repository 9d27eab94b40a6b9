//! An example mod that shows every direction data can flow:
//! - engine → mod: it reads [`Ping`] messages the engine sends,
//! - mod → engine: it answers each with a [`Pong`], and reports a [`Census`],
//! - another mod's component: it counts the `arcade_types::Rock`s that the
//!   `rocks` mod spawns, and marks each with its own [`Counted`] component,
//! - commands: it spawns ten [`Spark`]s at startup, which despawn after half
//!   a second;
//! - schedules: a `FixedUpdate` system reports each fixed step ([`FixedTick`]).

use arcade_types::Rock;
use mod_api::prelude::*;
use rocks_api::*;

/// Engine → mod.
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct Ping {
    pub value: u32,
}

/// Mod → engine: `value` is the ping's value doubled.
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct Pong {
    pub value: u32,
}

/// Mod → engine, every frame: how many rocks exist.
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct Census {
    pub rocks: u32,
    pub large: u32,
}

/// Put on every rock this mod has seen; `frame` is when.
#[derive(Component, Clone, Copy)]
#[repr(C)]
pub struct Counted {
    pub frame: u32,
}

/// A short-lived entity.
#[derive(Component, Clone, Copy)]
#[repr(C)]
pub struct Spark {
    pub ttl: f32,
}

/// Mod → engine, from every fixed step: the step's length.
#[derive(Message, Clone, Copy)]
#[repr(C)]
pub struct FixedTick {
    pub delta: f32,
}

fn fixed_tick(time: Res<Time>, mut ticks: MessageWriter<FixedTick>) {
    ticks.write(FixedTick { delta: time.delta_secs() });
}

fn spawn_sparks(mut commands: Commands) {
    for i in 0..10 {
        commands.spawn((
            Transform2d::from_xy(i as f32 * 10.0, 0.0),
            Velocity(Vec2::new(0.0, 60.0)),
            Spark { ttl: 0.5 },
        ));
    }
}

fn expire_sparks(time: Res<Time>, mut sparks: Query<(Entity, &mut Spark)>, mut commands: Commands) {
    for (e, s) in sparks.iter_mut() {
        s.ttl -= time.delta_secs();
        if s.ttl <= 0.0 {
            commands.entity(e).despawn();
        }
    }
}

fn answer(pings: MessageReader<Ping>, mut pongs: MessageWriter<Pong>) {
    pongs.write_batch(pings.read().map(|p| Pong { value: p.value * 2 }));
}

fn count(
    time: Res<Time>,
    rocks: Query<(Entity, &Rock, Option<&Counted>)>,
    mut census: MessageWriter<Census>,
    mut commands: Commands,
) {
    let mut c = Census { rocks: 0, large: 0 };
    for (e, rock, counted) in rocks.iter() {
        c.rocks += 1;
        c.large += (rock.size == 3) as u32;
        if counted.is_none() {
            commands.entity(e).insert(Counted { frame: time.frame() as u32 });
        }
    }
    census.write(c);
}

#[mod_main]
fn main(app: &mut App) {
    app.add_systems(Startup, spawn_sparks)
        .add_systems(Update, (answer, count, expire_sparks))
        .add_systems(FixedUpdate, fixed_tick);
}
