//! Native Bevy: the workloads as ordinary Bevy systems compiled into the
//! game, run by a Bevy `Schedule`. The baseline every other system is
//! measured against. The systems call the same workload code as the wasm
//! mod (`guests/wasm-mod`), shaped the same way: `boids_2k` gathers the
//! bodies into arrays, steps them, and writes them back.

use crate::workload::{self, Boids, DT, Ping, Pong, V2};
use bevy::ecs::message::Messages;
use bevy::prelude::*;
use rocks_api::{Transform2d, Velocity};

#[derive(Resource)]
struct Dt(f32);

/// A Bevy message carrying a [`Ping`] (engine → plugin).
#[derive(Message, Clone, Copy)]
pub struct PingMessage(pub Ping);

/// A Bevy message carrying a [`Pong`] (plugin → engine).
#[derive(Message, Clone, Copy)]
pub struct PongMessage(pub Pong);

/// The `call_overhead` system: no parameters, no work.
fn noop() {}

fn integrate(dt: Res<Dt>, mut frames: Local<u64>, mut bodies: Query<(&mut Transform2d, &Velocity)>) {
    *frames += 1;
    for (mut t, v) in &mut bodies {
        let mut p = t.translation.to_array();
        workload::integrate_one(&mut p, v.0.to_array(), dt.0);
        t.translation = Vec2::from_array(p);
    }
}

#[derive(Default)]
struct Flock {
    boids: Boids,
    pos: Vec<V2>,
    vel: Vec<V2>,
}

fn flock(dt: Res<Dt>, mut bodies: Query<(&mut Transform2d, &mut Velocity)>, mut scratch: Local<Flock>) {
    let Flock { boids, pos, vel } = &mut *scratch;
    pos.clear();
    vel.clear();
    for (t, v) in &bodies {
        pos.push(t.translation.to_array());
        vel.push(v.0.to_array());
    }
    boids.step(pos, vel, dt.0);
    for ((mut t, mut v), (p, w)) in bodies.iter_mut().zip(pos.iter().zip(vel.iter())) {
        t.translation = Vec2::from_array(*p);
        v.0 = Vec2::from_array(*w);
    }
}

fn answer(mut pings: MessageReader<PingMessage>, mut pongs: MessageWriter<PongMessage>) {
    pongs.write_batch(pings.read().map(|p| PongMessage(workload::answer(&p.0))));
}

/// A world and a schedule holding one workload's system.
pub struct Native {
    pub world: World,
    schedule: Schedule,
    pongs: Vec<Pong>,
}

impl Native {
    fn with<M>(n: usize, system: impl IntoScheduleConfigs<bevy::ecs::system::ScheduleSystem, M>) -> Native {
        let mut world = World::new();
        crate::spawn_bodies(&mut world, n);
        world.insert_resource(Dt(DT));
        world.init_resource::<Messages<PingMessage>>();
        world.init_resource::<Messages<PongMessage>>();
        // One system: the single-threaded executor runs it without waking
        // the thread pool (about 10 µs per run), which is not what is
        // being compared.
        let mut schedule = Schedule::default();
        schedule.set_executor(bevy::ecs::schedule::SingleThreadedExecutor::new());
        schedule.add_systems(system);
        Native { world, schedule, pongs: Vec::new() }
    }

    /// `call_overhead`: one empty system.
    pub fn empty() -> Native {
        Native::with(0, noop)
    }

    /// `integrate_*` over `n` bodies.
    pub fn integrate(n: usize) -> Native {
        Native::with(n, integrate)
    }

    /// `boids_*` over `n` bodies.
    pub fn boids(n: usize) -> Native {
        Native::with(n, flock)
    }

    /// `events_*`: the answering system.
    pub fn events() -> Native {
        Native::with(0, answer)
    }

    /// Runs the schedule once: one frame of the workload.
    pub fn run(&mut self) {
        self.schedule.run(&mut self.world);
    }

    /// One `events` frame: the engine sends `pings`, the system answers,
    /// the engine takes the answers ([`Native::pongs`]).
    pub fn events_frame(&mut self, pings: &[Ping]) {
        self.world.write_message_batch(pings.iter().map(|&p| PingMessage(p)));
        self.run();
        self.pongs.clear();
        self.pongs.extend(self.world.resource_mut::<Messages<PongMessage>>().drain().map(|m| m.0));
        self.world.resource_mut::<Messages<PingMessage>>().update();
    }

    /// The answers of the last [`Native::events_frame`].
    pub fn pongs(&self) -> &[Pong] {
        &self.pongs
    }
}
