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
//! - `integrate_100k/floor_own_memory`: the floor under `wasm_mod` and any
//!   other bridge whose mod computes in its own memory: the same native
//!   loop on a copy of the columns outside the world (never copied in
//!   again), then that copy stored into the world's rows.
//! - `idle_system/wasm_mod`: one mod system whose query matches nothing: the
//!   fixed cost of running a mod system for a frame. `/wasm_mod_populated`:
//!   the same with a `Populated` query, which the host does not call.
//!   `/wasmtime_call`: wasmtime's own call of an export that returns at
//!   once, the floor under any call into a mod.
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
//!   `/floor_own_memory`: the floor under a bridge that copies nothing in
//!   while the mod's copy is current: that check (entity ids, change
//!   ticks), the native loop on the copy, and only the changed rows stored.
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

/// The floor under any bridge whose mod computes in its own memory: the
/// same integration, by native code, on a copy of the columns kept outside
/// the world (as a mod keeps them in its linear memory; here never copied
/// in again), then the least a write-back can do: that copy stored into the
/// world's column with one `memcpy`, and every row's change tick set.
fn integrate_in_own_memory(world: &mut World, own: &mut OwnCopy) {
    for (t, v) in own.transforms.iter_mut().zip(&own.velocities) {
        t.translation += v.0 * DT;
    }
    let tick = world.increment_change_tick();
    let id = world.component_id::<Transform2d>().expect("Transform2d is registered");
    let table = table_with(world, id);
    // SAFETY: the column holds `Transform2d`s; `&mut World` is exclusive,
    // so nothing else reads or writes its cells meanwhile.
    let (column, ticks) = unsafe {
        (table.get_data_slice_for::<Transform2d>(id).unwrap(), table.get_changed_ticks_slice_for(id).unwrap())
    };
    assert_eq!(column.len(), own.transforms.len(), "one row per copied entity");
    // SAFETY: as above; `UnsafeCell<T>` has `T`'s layout.
    unsafe {
        std::ptr::copy_nonoverlapping(own.transforms.as_ptr(), column.as_ptr() as *mut Transform2d, column.len());
        std::slice::from_raw_parts_mut(ticks.as_ptr() as *mut bevy::ecs::change_detection::Tick, ticks.len())
            .fill(tick);
    }
}

/// The one table of `world` with rows and a column of component `id`.
fn table_with(world: &World, id: bevy::ecs::component::ComponentId) -> &bevy::ecs::storage::Table {
    let table = world.storages().tables.iter().find(|t| t.entity_count() > 0 && t.has_column(id));
    table.expect("the world has a table of moving entities")
}

/// The columns a floor system keeps outside the world, as a mod keeps them
/// in its memory.
struct OwnCopy {
    ids: Vec<Entity>,
    transforms: Vec<Transform2d>,
    velocities: Vec<Velocity>,
    /// The tick of the last run, whose writes the copy holds.
    last_run: bevy::ecs::change_detection::Tick,
    /// The rows the last run changed.
    changed: Vec<u32>,
}

impl OwnCopy {
    /// A copy of `world`'s one table of moving entities.
    fn of(world: &mut World) -> OwnCopy {
        let rows: Vec<(Entity, Transform2d, Velocity)> =
            world.query::<(Entity, &Transform2d, &Velocity)>().iter(world).map(|(e, t, v)| (e, *t, *v)).collect();
        OwnCopy {
            ids: rows.iter().map(|r| r.0).collect(),
            transforms: rows.iter().map(|r| r.1).collect(),
            velocities: rows.iter().map(|r| r.2).collect(),
            last_run: world.increment_change_tick(),
            changed: Vec::new(),
        }
    }
}

/// The floor under `sparse_write_100k` for any bridge whose mod computes
/// in its own memory and never sees stale data: the copy it kept is checked
/// to be current (the table's entity ids are the ones it holds, and no
/// change tick of either column is newer than its last run), native code
/// moves the entities with a velocity and lists the rows it changed (as a
/// mod reporting its own writes would), and only those rows are stored
/// back, with their change ticks.
fn sparse_in_own_memory(world: &mut World, own: &mut OwnCopy) {
    let this_run = world.increment_change_tick();
    let ids = [world.component_id::<Transform2d>(), world.component_id::<Velocity>()];
    let [Some(transform), Some(velocity)] = ids else { panic!("both components are registered") };
    let table = table_with(world, transform);
    // Ticks are newer than the last run when fewer ticks have passed since
    // them than since the last run: a minimum over the column, which
    // vectorizes.
    let since_last = this_run.get().wrapping_sub(own.last_run.get());
    let newer = |id| {
        let ticks = table.get_changed_ticks_slice_for(id).expect("the table has the column");
        // SAFETY: `&mut World` is exclusive: nothing writes the ticks.
        let ticks = unsafe { std::slice::from_raw_parts(ticks.as_ptr() as *const u32, ticks.len()) };
        ticks.iter().map(|&t| this_run.get().wrapping_sub(t)).min().unwrap_or(u32::MAX) < since_last
    };
    let current = table.entities() == own.ids.as_slice() && !newer(transform) && !newer(velocity);
    assert!(current, "nothing else touched the world");
    own.changed.clear();
    for (row, (t, v)) in own.transforms.iter_mut().zip(&own.velocities).enumerate() {
        if v.0 != Vec2::ZERO {
            t.translation += v.0 * DT;
            own.changed.push(row as u32);
        }
    }
    // SAFETY: as in `integrate_in_own_memory`.
    let (column, ticks) = unsafe {
        (
            table.get_data_slice_for::<Transform2d>(transform).unwrap(),
            table.get_changed_ticks_slice_for(transform).unwrap(),
        )
    };
    for &row in &own.changed {
        let row = row as usize;
        // SAFETY: `row` is below the table's length; `&mut World` is exclusive.
        unsafe {
            *column[row].get() = own.transforms[row];
            *ticks[row].get() = this_run;
        }
    }
    own.last_run = this_run;
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

/// A run of `system` on `world` (with its `Dt`), in a schedule of its own,
/// as a closure the benches time.
fn native_run<M>(
    mut world: World,
    system: impl IntoScheduleConfigs<bevy::ecs::system::ScheduleSystem, M>,
) -> impl FnMut() {
    world.insert_resource(Dt(DT));
    let mut schedule = single_threaded();
    schedule.add_systems(system);
    schedule.run(&mut world);
    move || schedule.run(&mut world)
}

/// A run of floor `system` on `world` and its own copy, checked once to
/// move the first entity.
fn floor_run(mut world: World, system: fn(&mut World, &mut OwnCopy)) -> impl FnMut() {
    let mut own = OwnCopy::of(&mut world);
    system(&mut world, &mut own);
    let t = world.query::<&Transform2d>().iter(&world).next().copied().unwrap();
    assert!(t.translation.y > 0.0, "the copy reached the world");
    move || system(&mut world, &mut own)
}

/// A run of the mover mod's `Update` on `world`, checked once to move the
/// first entity.
fn mover_run(bytes: &[u8], world: World, tier: Tier) -> impl FnMut() {
    let (mut world, mut instance) = mod_world(bytes, world, tier);
    let h = header();
    instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap();
    let t = world.query::<&Transform2d>().iter(&world).next().copied().unwrap();
    assert!(t.translation.y > 0.0, "the mod moved the entities");
    move || instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap()
}

fn benches(c: &mut Criterion) {
    let bytes = mod_wasm("mover");

    let mut group = c.benchmark_group("integrate_100k");
    let mut native = native_run(populated_world(N), integrate);
    group.bench_function("native", |b| b.iter(&mut native));
    let mut floor = floor_run(populated_world(N), integrate_in_own_memory);
    group.bench_function("floor_own_memory", |b| b.iter(&mut floor));
    let mut wasm = mover_run(&bytes, populated_world(N), Tier::Optimized);
    group.bench_function("wasm_mod", |b| b.iter(&mut wasm));
    let mut baseline = mover_run(&bytes, populated_world(N), Tier::Baseline);
    group.bench_function("wasm_mod_baseline", |b| b.iter(&mut baseline));
    group.finish();
    interleaved(
        "integrate_100k",
        &mut [("native", &mut native), ("floor_own_memory", &mut floor), ("wasm_mod", &mut wasm)],
    );

    let mut group = c.benchmark_group("sparse_write_100k");
    let sparse_world = || {
        let mut world = World::new();
        world.spawn_batch((0..N).map(|i| {
            let v = if i % 100 == 0 { Vec2::new(1.0, 2.0) } else { Vec2::ZERO };
            (Transform2d::from_xy(i as f32, 0.0), Velocity(v))
        }));
        world
    };
    let mut native = native_run(sparse_world(), integrate_sparse);
    group.bench_function("native", |b| b.iter(&mut native));
    let mut floor = floor_run(sparse_world(), sparse_in_own_memory);
    group.bench_function("floor_own_memory", |b| b.iter(&mut floor));
    let mut wasm = mover_run(&bytes, sparse_world(), Tier::Optimized);
    group.bench_function("wasm_mod", |b| b.iter(&mut wasm));
    group.finish();
    interleaved(
        "sparse_write_100k",
        &mut [("native", &mut native), ("floor_own_memory", &mut floor), ("wasm_mod", &mut wasm)],
    );

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
    let mut call = {
        // The floor under any mod call: wasmtime's own call of an export
        // that returns at once, with `mod_run`'s signature, in a store of
        // the runtime's engine (epoch deadline armed per call, as the
        // runtime does).
        let runtime = WasmRuntime::new(Default::default());
        let wat = r#"(module (func (export "run") (param i32 i32) (result i32) i32.const 0))"#;
        let module = wasmtime::Module::new(&runtime.engine, wat).expect("the empty module compiles");
        let mut store = wasmtime::Store::new(&runtime.engine, ());
        store.epoch_deadline_callback(|_| Ok(wasmtime::UpdateDeadline::Continue(1)));
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("the empty module instantiates");
        let run = instance.get_typed_func::<(i32, i32), i32>(&mut store, "run").expect("run is exported");
        move || {
            // The runtime's epoch ticker stops when it is dropped.
            let _ticking = &runtime;
            store.set_epoch_deadline(1);
            std::hint::black_box(run.call(&mut store, (0, 0)).unwrap());
        }
    };
    group.bench_function("wasmtime_call", |b| b.iter(&mut call));
    let mut idle = {
        let (mut world, mut instance) = mod_world(&bytes, populated_world(0), Tier::Optimized);
        world.spawn(Transform2d::default()); // matches nothing: no Velocity
        let h = header();
        move || instance.run_schedule(ScheduleLabel::Update, &mut world, &h).unwrap()
    };
    group.bench_function("wasm_mod", |b| b.iter(&mut idle));
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
    interleaved("idle_system", &mut [("wasmtime_call", &mut call), ("wasm_mod", &mut idle)]);

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

/// The medians [`interleaved`] found, as lines to print at the end.
static INTERLEAVED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Times `workloads` of `group` in turn, round after round, and keeps for
/// the summary each one's median time and the median over the rounds of
/// its time ÷ the first one's in the same round. This host's speed drifts
/// by up to 2× within minutes, so criterion's groups, measured one after
/// another, can put the baseline and the mod in different weather; a
/// round measures them all within milliseconds, each after one untimed run.
fn interleaved(group: &str, workloads: &mut [(&str, &mut dyn FnMut())]) {
    const ROUNDS: usize = 101;
    const SAMPLE: std::time::Duration = std::time::Duration::from_millis(2);
    // Iterations per sample: about `SAMPLE` of each workload, warmed up.
    let reps: Vec<u32> = workloads
        .iter_mut()
        .map(|(_, run)| {
            let start = std::time::Instant::now();
            let mut n = 0u32;
            while start.elapsed() < SAMPLE * 10 {
                run();
                n += 1;
            }
            (n / 10).max(1)
        })
        .collect();
    let mut times = vec![Vec::with_capacity(ROUNDS); workloads.len()];
    for _ in 0..ROUNDS {
        for (((_, run), &n), times) in workloads.iter_mut().zip(&reps).zip(&mut times) {
            // One run untimed, so each sample starts with the workload's
            // data in the caches, as criterion's repeated runs have it.
            run();
            let start = std::time::Instant::now();
            for _ in 0..n {
                run();
            }
            times.push(start.elapsed().as_secs_f64() * 1e9 / n as f64);
        }
    }
    let median = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let base = workloads[0].0;
    let mut lines = INTERLEAVED.lock().unwrap();
    for (i, (name, _)) in workloads.iter().enumerate() {
        let time = median(times[i].clone());
        let ratio = median(times[i].iter().zip(&times[0]).map(|(t, b)| t / b).collect());
        let time = if time < 1e3 { format!("{time:.1} ns") } else { format!("{:.1} µs", time / 1e3) };
        lines.push(if i == 0 {
            format!("  {group}  {name} {time}")
        } else {
            format!("  {group}  {name} {time}   {name}/{base} = {ratio:.2}")
        });
    }
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
    if let (Some(n), Some(f)) = (median_ns("integrate_100k", "native"), median_ns("integrate_100k", "floor_own_memory"))
    {
        println!(
            "  integrate_100k  floor_own_memory {:>9.1} µs = {:.2} × native (native code on its own copy, stored \
             back: no mod that computes in its memory can be faster)",
            f / 1e3,
            f / n
        );
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
        if let (Some(n), Some(f)) = (median_ns(group, "native"), median_ns(group, "floor_own_memory")) {
            println!(
                "  {group}  floor_own_memory {:>9.1} µs = {:.2} × native (its copy checked current, not copied; \
                 native code; only changed rows stored back)",
                f / 1e3,
                f / n
            );
        }
    }
    if let Some(idle) = median_ns("idle_system", "wasm_mod") {
        println!("  idle_system     wasm_mod {:>9.3} µs per frame (target ≤ 0.050 µs)", idle / 1e3);
    }
    if let Some(call) = median_ns("idle_system", "wasmtime_call") {
        println!(
            "  idle_system     wasmtime_call {:>9.3} µs (wasmtime's call of an export that returns at once: \
             the floor under any mod call)",
            call / 1e3
        );
    }
    if let Some(idle) = median_ns("idle_system", "wasm_mod_populated") {
        println!(
            "  idle_system     wasm_mod_populated {:>9.3} µs per frame (a `Populated` query: not called)",
            idle / 1e3
        );
    }
}

/// The interleaved medians (see [`interleaved`]).
fn print_interleaved() {
    println!(
        "\nInterleaved (each round times every workload of a group back to back; medians over the rounds, and \
         of each round's ratio):"
    );
    for line in INTERLEAVED.lock().unwrap().iter() {
        println!("{line}");
    }
}

criterion_group!(ecs_bridge, benches);

fn main() {
    ecs_bridge();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
    print_interleaved();
}
