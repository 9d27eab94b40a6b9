//! Hot reload: a changed mod file is compiled off the main thread and swapped
//! in at a frame boundary; a new version that fails leaves the old one running.

use engine::bevy::prelude::*;
use engine::runtime::{ModComponents, ModError, ModMessages, ModStatus, Tier};
use rocks_api::{Transform2d, Velocity};
use std::time::Instant;
use tests::*;

fn x_of(app: &App, e: Entity) -> f32 {
    app.world().get::<Transform2d>(e).unwrap().translation.x
}

#[test]
fn a_changed_mod_is_swapped_between_frames_and_keeps_running() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    let e = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X * 60.0))).id();
    run(&mut app, 10);
    let before = x_of(&app, e);
    let written = Instant::now();
    replace(dir.path(), "mover.wasm", &new_version("mover"));
    let took = until(&mut app, "mover is reloaded", |app| entry(app, "mover.wasm").reloads == 1);
    eprintln!("reload seen {took:?} ({:?}) after the file was replaced", written.elapsed());
    let swapped_at = x_of(&app, e);
    assert!(swapped_at > before, "the old version ran until the swap");
    run(&mut app, 10);
    assert!(x_of(&app, e) > swapped_at + 5.0, "the new version moves the entity");
    let m = entry(&app, "mover.wasm");
    assert_eq!((m.status(), m.last_error.clone()), (ModStatus::Running, None));
}

#[test]
fn a_broken_new_version_leaves_the_old_one_running() {
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    let e = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X * 60.0))).id();
    replace(dir.path(), "mover.wasm", b"not wasm at all");
    until(&mut app, "the failed reload is reported", |app| entry(app, "mover.wasm").last_error.is_some());
    let m = entry(&app, "mover.wasm");
    let error = m.last_error.clone().unwrap();
    assert!(error.contains("mover.wasm") && error.contains("reload failed"), "{error}");
    assert!(error.contains("not a WebAssembly module"), "{error}");
    assert_eq!((m.status(), m.reloads), (ModStatus::Running, 0));
    let x = x_of(&app, e);
    run(&mut app, 10);
    assert!(x_of(&app, e) > x + 5.0, "the previous version still runs");
}

#[test]
fn a_new_version_that_fails_to_start_leaves_the_old_one_running() {
    // Valid wasm with the ABI section, but its descriptor does not parse.
    let broken = wat::parse_str(
        r#"(module (@custom "bevy_mod_abi" "\01\00\00\00")
            (memory (export "memory") 1)
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 1024)
            (func (export "mod_init") (result i64) unreachable)
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0))"#,
    )
    .unwrap();
    let dir = mod_dir(&["mover"]);
    let mut app = start(&headless_config(dir.path()));
    replace(dir.path(), "mover.wasm", &broken);
    until(&mut app, "the failed reload is reported", |app| entry(app, "mover.wasm").last_error.is_some());
    let error = entry(&app, "mover.wasm").last_error.clone().unwrap();
    assert!(error.contains("mod_init") && error.contains("unreachable"), "{error}");
    assert_eq!(entry(&app, "mover.wasm").status(), ModStatus::Running);
    assert!(moved(&mut app));
}

fn moved(app: &mut App) -> bool {
    let e = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X * 60.0))).id();
    run(app, 10);
    x_of(app, e) > 5.0
}

#[test]
fn reloading_a_fixed_version_re_enables_a_failed_mod() {
    let dir = mod_dir(&["faulty"]);
    let mut app = start(&headless_config(dir.path()));
    until(&mut app, "faulty fails", |app| matches!(entry(app, "faulty.wasm").status(), ModStatus::Failed(_)));
    // The "fix": a version that does not panic.
    replace(dir.path(), "faulty.wasm", &mod_bytes("mover"));
    until(&mut app, "the fixed version runs", |app| entry(app, "faulty.wasm").status() == ModStatus::Running);
    assert_eq!(entry(&app, "faulty.wasm").reloads, 1);
    assert!(moved(&mut app));
}

#[test]
fn a_mod_whose_first_load_failed_starts_when_its_file_is_fixed() {
    let dir = mod_dir(&["mover"]);
    std::fs::write(dir.path().join("later.wasm"), b"half-written").unwrap();
    let mut app = start(&headless_config(dir.path()));
    assert!(matches!(entry(&app, "later.wasm").status(), ModStatus::Failed(_)));
    replace(dir.path(), "later.wasm", &mod_bytes("census"));
    until(&mut app, "the fixed mod starts", |app| entry(app, "later.wasm").status() == ModStatus::Running);
    run(&mut app, 1);
    // Its Startup systems ran: census spawns ten sparks.
    let id = app.world().resource::<ModComponents>().get("census::Spark").expect("declared").id;
    let world = app.world_mut();
    let sparks = world.query::<EntityRef>().iter(world).filter(|e| e.contains_id(id)).count();
    assert_eq!(sparks, 10);
}

#[test]
fn message_readers_continue_where_the_old_version_stopped() {
    let dir = mod_dir(&["census"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    app.world_mut().resource_mut::<ModMessages>().write(Ping { value: 1 });
    run(&mut app, 1);
    let mut pongs = app.world_mut().resource_mut::<ModMessages>().read::<Pong>(&mut cursor);
    replace(dir.path(), "census.wasm", &new_version("census"));
    until(&mut app, "census is reloaded", |app| entry(app, "census.wasm").reloads == 1);
    app.world_mut().resource_mut::<ModMessages>().write(Ping { value: 3 });
    // Messages live two frames: read every frame, as a real reader does.
    for _ in 0..3 {
        run(&mut app, 1);
        pongs.extend(app.world_mut().resource_mut::<ModMessages>().read::<Pong>(&mut cursor));
    }
    pongs.extend(app.world_mut().resource_mut::<ModMessages>().read::<Pong>(&mut cursor));
    assert_eq!(pongs, vec![Pong { value: 2 }, Pong { value: 6 }], "each ping answered once, across the reload");
}

/// Reads counter values for `n` frames.
fn counts(app: &mut App, cursor: &mut u64, n: usize) -> Vec<CounterValue> {
    (0..n).flat_map(|_| counter_frame(app, cursor)).collect()
}

#[test]
fn mod_state_survives_a_reload() {
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    let before = counts(&mut app, &mut cursor, 20);
    replace(dir.path(), "counter.wasm", &new_version("counter"));
    let mut after = Vec::new();
    while entry(&app, "counter.wasm").reloads == 0 {
        after.extend(counter_frame(&mut app, &mut cursor));
    }
    after.extend(counts(&mut app, &mut cursor, 5));
    let all: Vec<u64> = before.iter().chain(&after).map(|c| c.count).collect();
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(all, expected, "one count per frame, carried across the swap");
}

#[test]
fn a_state_schema_change_carries_over_through_serde() {
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    let last = counts(&mut app, &mut cursor, 20).last().copied().unwrap();
    assert_eq!((last.version, last.bonus), (1, 0));
    assert!(last.count >= 20);
    replace(dir.path(), "counter.wasm", &mod_bytes("counter_v2"));
    until(&mut app, "v2 runs", |app| entry(app, "counter.wasm").reloads == 1);
    let v2 = counts(&mut app, &mut cursor, 3);
    let first_v2 = v2.iter().find(|c| c.version == 2).expect("v2 reports");
    // `frames` → `ticks` by alias, `bonus` by default, `label` dropped.
    assert!(first_v2.count > last.count, "the count carried over: {last:?} -> {v2:?}");
    assert_eq!(first_v2.bonus, 7, "the new field took its default");
    assert_eq!(entry(&app, "counter.wasm").last_error, None);
}

#[test]
fn a_migration_hook_runs_exactly_once_with_the_old_version() {
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    counts(&mut app, &mut cursor, 5);
    replace(dir.path(), "counter.wasm", &mod_bytes("counter_v2"));
    until(&mut app, "v2 runs", |app| entry(app, "counter.wasm").reloads == 1);
    let v2: Vec<_> = counts(&mut app, &mut cursor, 30).into_iter().filter(|c| c.version == 2).collect();
    assert!(v2.len() >= 29);
    // The hook ran once (on the 1.0.0 state), not per frame.
    assert!(v2.iter().all(|c| c.migrations == 1), "{v2:?}");
    // Reloading v2 over v2: the hook sees "2.0.0" and does nothing.
    replace(dir.path(), "counter.wasm", &new_version("counter_v2"));
    until(&mut app, "v2 reloads", |app| entry(app, "counter.wasm").reloads == 2);
    let again = counts(&mut app, &mut cursor, 3);
    assert!(again.iter().all(|c| c.migrations == 1), "{again:?}");
}

#[test]
fn state_that_cannot_be_restored_starts_fresh_and_is_kept_for_the_modder() {
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    counts(&mut app, &mut cursor, 20);
    replace(dir.path(), "counter.wasm", &mod_bytes("counter_v3"));
    until(&mut app, "v3 runs", |app| entry(app, "counter.wasm").reloads == 1);
    let v3 = counts(&mut app, &mut cursor, 3);
    let first_v3 = v3.iter().find(|c| c.version == 3).expect("v3 reports");
    assert!(first_v3.count <= 3, "v3 started fresh: {v3:?}");
    let m = entry(&app, "counter.wasm");
    assert_eq!(m.status(), ModStatus::Running);
    let error = m.last_error.clone().expect("the lost state is reported");
    for part in
        ["counter", "state could not be restored", "counter::version::Counter", "starts fresh", "rejected-state.ron"]
    {
        assert!(error.contains(part), "error should mention {part:?}: {error}");
    }
    let kept = std::fs::read_to_string(dir.path().join("counter.rejected-state.ron")).expect("old state kept");
    assert!(kept.contains("frames:") && kept.contains("\"counter\""), "{kept}");
}

#[test]
fn a_new_version_that_traps_while_restoring_state_leaves_the_old_one_running() {
    // A valid mod whose mod_restore_state traps.
    let trapping = wat_mod_with_descriptor(
        r#"(func (export "mod_save_state") (result i64) i64.const 0)
           (func (export "mod_restore_state") (param i32 i32) (result i64) unreachable)"#,
        r#"(name: "counter", version: "9.0.0", components: [], messages: [], systems: [])"#,
    );
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    counts(&mut app, &mut cursor, 5);
    replace(dir.path(), "counter.wasm", &trapping);
    until(&mut app, "the failed reload is reported", |app| entry(app, "counter.wasm").last_error.is_some());
    let m = entry(&app, "counter.wasm");
    let error = m.last_error.clone().unwrap();
    assert!(error.contains("mod_restore_state") && error.contains("previous version keeps running"), "{error}");
    assert_eq!((m.status(), m.reloads), (ModStatus::Running, 0));
    // The old version kept its state and keeps counting.
    let next = counts(&mut app, &mut cursor, 3);
    let counts: Vec<u64> = next.iter().map(|c| c.count).collect();
    assert!(counts.windows(2).all(|w| w[1] == w[0] + 1) && counts[0] > 5, "{counts:?}");
}

/// A hand-written mod that reads `counter::version::Tally` with a layout of
/// `size` bytes (no field list) in one Update system.
fn tally_reader(size: u32, align: u32) -> Vec<u8> {
    wat_mod_with_descriptor(
        "",
        &format!(
            r#"(name: "tally-reader", version: "1.0.0",
                components: [(name: "counter::version::Tally", size: {size}, align: {align})],
                messages: [],
                systems: [(name: "read", schedule: Update, params: [Query(terms: [(component: 0, access: Read)])])])"#
        ),
    )
}

#[test]
fn a_component_layout_change_carries_values_over_by_field() {
    let dir = mod_dir(&["counter"]);
    std::fs::write(dir.path().join("reader.wasm"), tally_reader(8, 4)).unwrap();
    let mut app = start(&headless_config(dir.path()));
    run(&mut app, 10);
    let [v1] = all_of::<TallyV1>(&mut app)[..] else { panic!("one v1 tally") };
    assert!(v1.frames >= 10 && v1.scale == 1.5, "{v1:?}");
    assert_eq!(entry(&app, "reader.wasm").status(), ModStatus::Running);

    replace(dir.path(), "counter.wasm", &mod_bytes("counter_v2"));
    until(&mut app, "v2 runs", |app| entry(app, "counter.wasm").reloads == 1);
    let mut cursor = 0;
    let count = counter_frame(&mut app, &mut cursor).last().expect("the counter reports").count;
    let [v2] = all_of::<TallyV2>(&mut app)[..] else { panic!("one tally, now in v2's layout") };
    // `frames` → `ticks` by alias (widened to u64), `bonus` by its default,
    // `scale` moved; the same entity: it kept pace with the counter's state,
    // counted once every frame, across the swap.
    assert!(v2.ticks > v1.frames as u64, "{v1:?} -> {v2:?}");
    assert_eq!(v2.ticks, count, "{v1:?} -> {v2:?}");
    assert_eq!((v2.bonus, v2.scale), (9, 1.5));
    assert!(all_of::<TallyV1>(&mut app).is_empty(), "no value is left in the old layout");
    run(&mut app, 5);
    assert!(all_of::<TallyV2>(&mut app)[0].ticks >= v2.ticks + 5, "v2 counts on");
    assert_eq!(entry(&app, "counter.wasm").last_error, None);

    // The other mod still reads the old layout: it waits, keeping its instance.
    let reader = entry(&app, "reader.wasm");
    let Some(ModError::Waiting { component, reloaded, .. }) = reader.error() else {
        panic!("the reader must wait: {:?}", reader.status())
    };
    assert_eq!((component.as_str(), reloaded.as_str()), ("counter::version::Tally", "counter.wasm"));
    let why = reader.error().unwrap().to_string();
    for part in ["waiting for a new version", "counter::version::Tally", "counter.wasm", "rebuild"] {
        assert!(why.contains(part), "{part:?} missing: {why}");
    }
    assert!(reader.instance().is_some(), "its state is kept");
    // Its rebuilt version (built against the new layout) takes over.
    replace(dir.path(), "reader.wasm", &tally_reader(16, 8));
    until(&mut app, "the rebuilt reader runs", |app| entry(app, "reader.wasm").status() == ModStatus::Running);
    assert_eq!(entry(&app, "reader.wasm").reloads, 1);
}

#[test]
fn a_layout_change_whose_values_do_not_convert_keeps_the_old_version() {
    // `frames` becomes a struct: a number cannot become one.
    let incompatible = wat_mod_with_descriptor(
        "",
        r#"(name: "counter", version: "9.0.0", messages: [], systems: [],
            components: [(name: "counter::version::Tally", size: 8, align: 4,
                fields: Some([(name: "frames", offset: 0, ty: Struct([(name: "x", offset: 0, ty: F32)]))]))])"#,
    );
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    counts(&mut app, &mut cursor, 5);
    replace(dir.path(), "counter.wasm", &incompatible);
    until(&mut app, "the failed reload is reported", |app| entry(app, "counter.wasm").last_error.is_some());
    let m = entry(&app, "counter.wasm");
    let error = m.last_error.clone().unwrap();
    for part in ["previous version keeps running", "counter::version::Tally", "field frames", "expected a struct"] {
        assert!(error.contains(part), "{part:?} missing: {error}");
    }
    assert_eq!((m.status(), m.reloads), (ModStatus::Running, 0));
    // Nothing changed: the old layout, its value, and the old version counting it.
    let [before] = all_of::<TallyV1>(&mut app)[..] else { panic!("the v1 tally is intact") };
    run(&mut app, 3);
    assert_eq!(all_of::<TallyV1>(&mut app)[0].frames, before.frames + 3);
}

fn tier(app: &App, file: &str) -> Tier {
    entry(app, file).instance().expect("the mod runs").tier()
}

#[test]
fn a_reload_runs_baseline_code_at_once_then_optimized_code_with_nothing_lost() {
    /// Reads the counter's values frame by frame and checks them: the count
    /// goes up by one a frame, whichever code runs, and the counter's
    /// `Local` (not saved) is `count - base`: it survives the swap to
    /// optimized code, and starts over with a new version.
    struct Watch {
        cursor: u64,
        last: u64,
        base: u64,
        reloads: u32,
    }
    impl Watch {
        fn frame(&mut self, app: &mut App) {
            let values = counter_frame(app, &mut self.cursor);
            let reloads = entry(app, "counter.wasm").reloads;
            let reloaded = std::mem::replace(&mut self.reloads, reloads) != reloads;
            for value in values {
                assert_eq!(value.count, self.last + 1, "the count continues, whichever code runs");
                if reloaded && value.local == 1 {
                    self.base = value.count - 1; // the new version's first run
                }
                assert_eq!(
                    value.local as u64,
                    value.count - self.base,
                    "the Local survives the swap to optimized code"
                );
                self.last = value.count;
            }
            let frame = app.world().resource::<engine::runtime::ModFrameInput>().header.frame;
            assert_eq!(self.last, frame, "one count per frame: no frame skipped or run twice");
        }
    }
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut watch = Watch { cursor: 0, last: 0, base: 0, reloads: 0 };
    for value in counter_frame(&mut app, &mut watch.cursor) {
        watch.last = value.count;
    }
    assert_eq!(tier(&app, "counter.wasm"), Tier::Baseline, "a mod starts on baseline code");
    while tier(&app, "counter.wasm") == Tier::Baseline {
        watch.frame(&mut app);
    }
    watch.frame(&mut app);
    assert_eq!(watch.base, 0, "the first version's Local ran from the start");

    replace(dir.path(), "counter.wasm", &new_version("counter"));
    while entry(&app, "counter.wasm").reloads == 0 {
        watch.frame(&mut app);
    }
    assert_eq!(tier(&app, "counter.wasm"), Tier::Baseline, "the new version runs baseline code first");
    let swapped = Instant::now();
    while tier(&app, "counter.wasm") == Tier::Baseline {
        assert!(swapped.elapsed() < HANG_GUARD, "the optimized code did not arrive");
        watch.frame(&mut app);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    for _ in 0..3 {
        watch.frame(&mut app);
    }
    assert!(watch.base > 0, "the new version's Local started over");
    let m = entry(&app, "counter.wasm");
    assert_eq!((m.status(), m.reloads, m.last_error.clone()), (ModStatus::Running, 1, None));
}

/// The serial of the latest compile of mod file `file` (each write of the
/// file is compiled anew, changed or not).
fn compiled(app: &App, file: &str) -> u64 {
    let assets = app.world().resource::<Assets<engine::runtime::ModAsset>>();
    let path = format!("mods://{file}");
    assets.iter().filter(|(_, a)| a.file == path).map(|(_, a)| a.serial).max().expect("the file was compiled")
}

/// One write, one reload; the same bytes written again are not a new
/// version (a watcher may report one write as several events): the mod is
/// not swapped, and its `Local` (which a swap would start over) goes on.
#[test]
fn a_file_written_again_with_the_same_bytes_is_not_reloaded() {
    let dir = mod_dir(&["counter"]);
    let mut app = start(&headless_config(dir.path()));
    let mut cursor = 0;
    let mut values = counts(&mut app, &mut cursor, 5);
    let first = compiled(&app, "counter.wasm");
    replace(dir.path(), "counter.wasm", &mod_bytes("counter"));
    let t = Instant::now();
    while compiled(&app, "counter.wasm") == first {
        assert!(t.elapsed() < HANG_GUARD, "the rewritten file was not compiled");
        values.extend(counter_frame(&mut app, &mut cursor));
    }
    values.extend(counts(&mut app, &mut cursor, 5));
    assert_eq!(entry(&app, "counter.wasm").reloads, 0, "the same bytes are not a new version");
    assert!(values.windows(2).all(|w| w[1].local == w[0].local + 1), "the Local went on: {values:?}");
    // A new version (other bytes) is swapped in once.
    replace(dir.path(), "counter.wasm", &new_version("counter"));
    until(&mut app, "the new version runs", |app| entry(app, "counter.wasm").reloads == 1);
    counts(&mut app, &mut cursor, 30);
    assert_eq!(entry(&app, "counter.wasm").reloads, 1, "one write, one reload");
}

/// Open inotify instances of this process (each watched mod folder holds one).
#[cfg(target_os = "linux")]
fn inotify_instances() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("inotify"))
        .count()
}

/// A game that is dropped lets go of its mod folder's watcher. The thread
/// that reloads changed mods holds the asset server, which owns the
/// watcher; without the world taking the server back, each dropped game
/// kept its watcher (an inotify instance, 128 per user by default) forever.
/// Other tests start games meanwhile, so the check allows a few instances
/// more than before, far fewer than the games started here.
#[cfg(target_os = "linux")]
#[test]
fn a_dropped_game_releases_its_mod_folder_watcher() {
    const GAMES: usize = 12;
    let before = inotify_instances();
    for _ in 0..GAMES {
        let dir = mod_dir(&["mover"]);
        let mut app = start(&headless_config(dir.path()));
        app.update();
        drop(app);
    }
    // The watcher's own thread closes the instance shortly after the drop.
    let t = Instant::now();
    while inotify_instances() > before + GAMES / 3 {
        assert!(
            t.elapsed() < HANG_GUARD,
            "{} inotify instances open after dropping {GAMES} games, {before} before",
            inotify_instances()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
