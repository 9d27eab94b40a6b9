//! The cost of the host/mod boundary, against native Bevy in the same run.
//!
//! - `integrate_100k/native`: a plain Bevy system, `translation += velocity × dt`
//!   over 100,000 entities.
//! - `integrate_100k/wasm_mod`: the same work done by the `mover` mod: columns
//!   copied into the mod, one call, written columns copied back, with the
//!   sandbox on (epoch deadline checks).
//! - `integrate_100k/wasm_mod_baseline`: the same with the baseline
//!   compiler's code, which a mod runs for its first frames after a (re)load
//!   until the optimized code is swapped in.
//! - `idle_system/wasm_mod`: one mod system whose query matches nothing: the
//!   fixed cost of running a mod system for a frame. `/wasm_mod_populated`:
//!   the same with a `Populated` query, which the host does not call.
//! - `integrate_transform_100k/native` and `/wasm_mod`: the same integration
//!   over Bevy's own `Transform` (and the Fireflies example's `Velocity`),
//!   the mod side being the `swarm` mod's `fly` system, which sees
//!   `Transform` through the runtime's adapter: a view of each row is made
//!   before the call and written back after it.
//!
//! - `sparse_write_100k/native` and `/wasm_mod`: the same 100,000 entities,
//!   1% of them moving (the rest have a zero velocity): the `mover` mod
//!   writes every row, the host writes back and marks changed only the rows
//!   whose bytes changed; the native system skips the standing ones.
//! - `lookup_1k_of_100k/native` and `/wasm_mod`: 250 collisions a frame
//!   among 100,000 bodies, each pushing its two bodies apart with two
//!   `get` and two `get_mut` (1,000 lookups): the `impacts` mod, and the same
//!   system in Bevy. Both include writing the 250 messages.
//!
//! Run: `cargo bench -p engine --bench ecs_bridge`. It builds the mods first
//! (scripts/build-mods) and prints the ratios at the end.

use bevy::prelude::*;
use criterion::{Criterion, criterion_group};
use engine::runtime::adapters::{NameAdapter, TransformAdapter};
use engine::runtime::{ModAccess, ModInstance, Tier, WasmRuntime, compile, expose, prepare_world};
use mod_api::abi::{FrameHeader, ScheduleLabel};
use rocks_api::{Collision, Transform2d, Velocity};
use std::path::{Path, PathBuf};

const N: usize = 100_000;
const DT: f32 = 1.0 / 60.0;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"))
}

/// Builds the mods (once) and returns built mod `name`.
fn mod_wasm(name: &str) -> Vec<u8> {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let status =
            std::process::Command::new(repo().join("scripts/build-mods")).status().expect("scripts/build-mods runs");
        assert!(status.success(), "building the mods failed");
    });
    let path = target_dir().join(format!("wasm32-unknown-unknown/mod/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{} was built: {e}", path.display()))
}

fn populated_world(n: usize) -> World {
    let mut world = World::new();
    world.spawn_batch((0..n).map(|i| (Transform2d::from_xy(i as f32, 0.0), Velocity(Vec2::new(1.0, 2.0)))));
    world
}

#[derive(Resource)]
struct Dt(f32);

fn integrate(dt: Res<Dt>, mut q: Query<(&mut Transform2d, &Velocity)>) {
    for (mut t, v) in &mut q {
        t.translation += v.0 * dt.0;
    }
}

/// Moves only the entities with a velocity, as a native system that changes
/// 1% of its rows would.
fn integrate_sparse(dt: Res<Dt>, mut q: Query<(&mut Transform2d, &Velocity)>) {
    for (mut t, v) in &mut q {
        if v.0 != Vec2::ZERO {
            t.translation += v.0 * dt.0;
        }
    }
}

/// `mods/impacts`' system in Bevy.
fn push_apart(mut collisions: MessageReader<Collision>, mut bodies: Query<&mut Transform2d>) {
    for c in collisions.read() {
        let (a, b) = (Entity::from_bits(c.a.0), Entity::from_bits(c.b.0));
        let (Ok(ta), Ok(tb)) = (bodies.get(a), bodies.get(b)) else { continue };
        let away = (ta.translation - tb.translation).normalize_or(Vec2::X) * 0.5;
        if let Ok(mut t) = bodies.get_mut(a) {
            t.translation += away;
        }
        if let Ok(mut t) = bodies.get_mut(b) {
            t.translation -= away;
        }
    }
}

/// 250 collisions between bodies spread over the `n` entities of `world`
/// (a fixed pseudo-random choice).
fn collisions(world: &mut World, count: usize) -> Vec<Collision> {
    let ids: Vec<Entity> = world.query_filtered::<Entity, With<Transform2d>>().iter(world).collect();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut pick = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mod_api::Entity(ids[(x % ids.len() as u64) as usize].to_bits())
    };
    (0..count).map(|_| Collision { a: pick(), b: pick() }).collect()
}

/// A schedule with the single-threaded executor, as in `benches/plugins`:
/// one system does not need the thread pool's wake-ups (about 10 µs a run).
fn single_threaded() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(bevy::ecs::schedule::SingleThreadedExecutor::new());
    schedule
}

/// `world` with the mover mod instantiated in it, running optimized code or
/// the baseline code a mod runs for its first frames after a (re)load.
fn mod_world(bytes: &[u8], mut world: World, tier: Tier) -> (World, ModInstance) {
    let runtime = WasmRuntime::new(Default::default());
    let asset = match tier {
        Tier::Optimized => compile(&runtime.engine, "mover.wasm", bytes),
        Tier::Baseline => runtime.compile("mover.wasm", bytes),
    }
    .expect("mover compiles");
    prepare_world(&mut world);
    expose::component::<Transform2d>(&mut world, ModAccess::ReadWrite);
    expose::component::<Velocity>(&mut world, ModAccess::ReadWrite);
    let instance =
        ModInstance::new(&runtime, &asset.module, "mover.wasm", &mut world, None).expect("mover instantiates");
    assert_eq!(instance.tier(), tier, "this platform has no baseline compiler");
    (world, instance)
}

fn header() -> FrameHeader {
    FrameHeader { delta_secs: DT, ..Default::default() }
}

/// A world of `n` fireflies as the Fireflies example exposes them, with
/// the `swarm` mod instantiated in it, and the position of its `fly`
/// system in its `Update` order.
fn swarm_world(n: usize) -> (World, ModInstance, usize) {
    use fireflies_api::{Glow, Jar, Night, ReleaseFirefly, Velocity};
    let runtime = WasmRuntime::new(Default::default());
    let asset = compile(&runtime.engine, "swarm.wasm", &mod_wasm("swarm")).expect("swarm compiles");
    let mut world = World::new();
    world.spawn_batch((0..n).map(|i| {
        (
            Transform::from_xyz(i as f32, 0.0, 0.0),
            Velocity(Vec3::new(1.0, 2.0, 3.0)),
            Glow { brightness: 1.0, phase: 0.0 },
        )
    }));
    prepare_world(&mut world);
    expose::adapter::<TransformAdapter>(&mut world, ModAccess::ReadWrite);
    expose::adapter::<NameAdapter>(&mut world, ModAccess::ReadWrite);
    expose::component::<Glow>(&mut world, ModAccess::ReadWrite);
    expose::component::<Velocity>(&mut world, ModAccess::ReadWrite);
    expose::resource::<Jar>(&mut world, ModAccess::Read);
    expose::resource::<Night>(&mut world, ModAccess::ReadWrite);
    world.insert_resource(Jar { fireflies: n as u32, capacity: n as u32 });
    world.insert_resource(Night { darkness: 1.0 });
    expose::function(&mut world, ReleaseFirefly, |In(_): In<Vec3>| -> Result<u32, String> { Err("full".into()) });
    let instance = ModInstance::new(&runtime, &asset.module, "swarm.wasm", &mut world, None).expect("swarm starts");
    let order = instance.schedule_order(ScheduleLabel::Update);
    let fly = order.iter().position(|&i| instance.system_name(i) == "swarm::fly").expect("swarm has fly");
    (world, instance, fly)
}

fn integrate_transform(dt: Res<Dt>, mut q: Query<(&mut Transform, &fireflies_api::Velocity)>) {
    for (mut t, v) in &mut q {
        t.translation += v.0 * dt.0;
    }
}

fn benches(c: &mut Criterion) {
    let bytes = mod_wasm("mover");

    let mut group = c.benchmark_group("integrate_100k");
    {
        let mut world = populated_world(N);
        world.insert_resource(Dt(DT));
        let mut schedule = single_threaded();
        schedule.add_systems(integrate);
        schedule.run(&mut world);
        group.bench_function("native", |b| b.iter(|| schedule.run(&mut world)));
    }
    for (function, tier) in [("wasm_mod", Tier::Optimized), ("wasm_mod_baseline", Tier::Baseline)] {
        let (mut world, mut instance) = mod_world(&bytes, populated_world(N), tier);
        let h = header();
        instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap();
        group.bench_function(function, |b| {
            b.iter(|| instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap())
        });
        // Check the work was done: every entity moved by (1, 2) × dt per run.
        let t = world.query::<&Transform2d>().iter(&world).next().copied().unwrap();
        assert!(t.translation.y > 0.0, "the mod moved the entities");
    }
    group.finish();

    let mut group = c.benchmark_group("sparse_write_100k");
    let sparse_world = || {
        let mut world = World::new();
        world.spawn_batch((0..N).map(|i| {
            let v = if i % 100 == 0 { Vec2::new(1.0, 2.0) } else { Vec2::ZERO };
            (Transform2d::from_xy(i as f32, 0.0), Velocity(v))
        }));
        world
    };
    {
        let mut world = sparse_world();
        world.insert_resource(Dt(DT));
        let mut schedule = single_threaded();
        schedule.add_systems(integrate_sparse);
        schedule.run(&mut world);
        group.bench_function("native", |b| b.iter(|| schedule.run(&mut world)));
    }
    {
        let (mut world, mut instance) = mod_world(&bytes, sparse_world(), Tier::Optimized);
        let h = header();
        instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap();
        group.bench_function("wasm_mod", |b| {
            b.iter(|| instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("lookup_1k_of_100k");
    let bodies = || {
        let mut world = World::new();
        world.spawn_batch((0..N).map(|i| Transform2d::from_xy((i % 1000) as f32, (i / 1000) as f32)));
        world
    };
    {
        let mut world = bodies();
        let hits = collisions(&mut world, 250);
        world.init_resource::<Messages<Collision>>();
        let mut schedule = single_threaded();
        schedule.add_systems(push_apart);
        let mut run = |world: &mut World| {
            let mut messages = world.resource_mut::<Messages<Collision>>();
            messages.update();
            messages.write_batch(hits.iter().copied());
            schedule.run(world);
        };
        run(&mut world);
        group.bench_function("native", |b| b.iter(|| run(&mut world)));
    }
    {
        let runtime = WasmRuntime::new(Default::default());
        let asset = compile(&runtime.engine, "impacts.wasm", &mod_wasm("impacts")).expect("impacts compiles");
        let mut world = bodies();
        let hits = collisions(&mut world, 250);
        prepare_world(&mut world);
        expose::component::<Transform2d>(&mut world, ModAccess::ReadWrite);
        expose::message::<Collision>(&mut world, ModAccess::Read);
        let mut instance =
            ModInstance::new(&runtime, &asset.module, "impacts.wasm", &mut world, None).expect("impacts starts");
        let h = header();
        let mut run = |world: &mut World| {
            let mut messages = world.resource_mut::<engine::runtime::ModMessages>();
            messages.update();
            messages.write_batch(&hits);
            instance.run_schedule(ScheduleLabel::Update, world, &h).unwrap();
        };
        let before = *world.get::<Transform2d>(Entity::from_bits(hits[0].a.0)).unwrap();
        run(&mut world);
        let after = *world.get::<Transform2d>(Entity::from_bits(hits[0].a.0)).unwrap();
        assert_ne!(before, after, "the mod pushed the first collision's bodies");
        group.bench_function("wasm_mod", |b| b.iter(|| run(&mut world)));
    }
    group.finish();

    let mut group = c.benchmark_group("idle_system");
    {
        let (mut world, mut instance) = mod_world(&bytes, populated_world(0), Tier::Optimized);
        world.spawn(Transform2d::default()); // matches nothing: no Velocity
        let h = header();
        group.bench_function("wasm_mod", |b| {
            b.iter(|| instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap())
        });
    }
    {
        // The same with `Populated`: `mods/watcher`'s `redden`, whose query
        // (sprites whose Transform2d changed) matches nothing here.
        use rocks_api::{Collider, Label, Sprite};
        let runtime = WasmRuntime::new(Default::default());
        let asset = compile(&runtime.engine, "watcher.wasm", &mod_wasm("watcher")).expect("watcher compiles");
        let mut world = World::new();
        world.spawn(Transform2d::default());
        prepare_world(&mut world);
        expose::component::<Transform2d>(&mut world, ModAccess::ReadWrite);
        expose::component::<Sprite>(&mut world, ModAccess::ReadWrite);
        expose::component::<Collider>(&mut world, ModAccess::ReadWrite);
        expose::component::<Label>(&mut world, ModAccess::ReadWrite);
        let mut instance =
            ModInstance::new(&runtime, &asset.module, "watcher.wasm", &mut world, None).expect("watcher starts");
        let order = instance.schedule_order(ScheduleLabel::Update);
        let redden = order.iter().position(|&i| instance.system_name(i) == "watcher::redden").expect("redden");
        let h = header();
        let mut spent = std::time::Duration::ZERO;
        group.bench_function("wasm_mod_populated", |b| {
            b.iter(|| instance.run_nth(ScheduleLabel::Update, redden, &mut world, &h, &mut spent).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("integrate_transform_100k");
    {
        let (mut world, _, _) = swarm_world(N);
        world.insert_resource(Dt(DT));
        let mut schedule = single_threaded();
        schedule.add_systems(integrate_transform);
        schedule.run(&mut world);
        group.bench_function("native", |b| b.iter(|| schedule.run(&mut world)));
    }
    {
        let (mut world, mut instance, fly) = swarm_world(N);
        let h = header();
        let mut spent = std::time::Duration::ZERO;
        let mut run = |world: &mut World| {
            spent = std::time::Duration::ZERO;
            instance.run_nth(ScheduleLabel::Update, fly, world, &h, &mut spent).unwrap()
        };
        run(&mut world);
        group.bench_function("wasm_mod", |b| b.iter(|| run(&mut world)));
        let t = world.query::<&Transform>().iter(&world).next().copied().unwrap();
        assert!(t.translation.z > 0.0, "the mod moved the entities");
    }
    group.finish();
}

/// Criterion's median estimate of `group/function`, in nanoseconds.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = target_dir().join("criterion").join(group).join(function).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_ratios() {
    println!("\nRatios against native Bevy (medians, this run):");
    match (median_ns("integrate_100k", "native"), median_ns("integrate_100k", "wasm_mod")) {
        (Some(n), Some(w)) => println!(
            "  integrate_100k  native {:>9.1} µs   wasm_mod {:>9.1} µs   wasm_mod/native = {:.2} (target ≤ 1.5)",
            n / 1e3,
            w / 1e3,
            w / n
        ),
        _ => println!("  integrate_100k: no estimates found under {}", target_dir().join("criterion").display()),
    }
    if let (Some(n), Some(w)) =
        (median_ns("integrate_100k", "native"), median_ns("integrate_100k", "wasm_mod_baseline"))
    {
        println!(
            "  integrate_100k  wasm_mod_baseline {:>9.1} µs = {:.2} × native (baseline code runs only until the \
             optimized code is swapped in)",
            w / 1e3,
            w / n
        );
    }
    match (median_ns("integrate_transform_100k", "native"), median_ns("integrate_transform_100k", "wasm_mod")) {
        (Some(n), Some(w)) => println!(
            "  integrate_transform_100k  native {:>9.1} µs   wasm_mod {:>9.1} µs   wasm_mod/native = {:.2} \
             (Bevy's Transform through the adapter)",
            n / 1e3,
            w / 1e3,
            w / n
        ),
        _ => println!("  integrate_transform_100k: no estimates found"),
    }
    for (group, target) in [("sparse_write_100k", "target ≤ 1.5"), ("lookup_1k_of_100k", "1,000 lookups")] {
        if let (Some(n), Some(w)) = (median_ns(group, "native"), median_ns(group, "wasm_mod")) {
            println!(
                "  {group}  native {:>9.1} µs   wasm_mod {:>9.1} µs   wasm_mod/native = {:.2} ({target})",
                n / 1e3,
                w / 1e3,
                w / n
            );
        }
    }
    if let Some(idle) = median_ns("idle_system", "wasm_mod") {
        println!("  idle_system     wasm_mod {:>9.3} µs per frame (target ≤ 0.050 µs)", idle / 1e3);
    }
    if let Some(idle) = median_ns("idle_system", "wasm_mod_populated") {
        println!(
            "  idle_system     wasm_mod_populated {:>9.3} µs per frame (a `Populated` query: not called)",
            idle / 1e3
        );
    }
}

criterion_group!(ecs_bridge, benches);

fn main() {
    ecs_bridge();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}
