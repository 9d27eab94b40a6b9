//! Hostile mods: hand-written WebAssembly that attacks the host through every
//! door the ABI opens (CPU, memory, traps, forged output, floods). Each one
//! must be stopped with an error naming it and the cause, while the game
//! keeps running frames and the good mod `mover` keeps moving entities.

use engine::bevy::ecs::query::QueryBuilder;
use engine::bevy::prelude::*;
use engine::runtime::{ModComponents, ModLimits, ModMessages, ModRegistry, ModStatus, ModUsage, Tier};
use rocks_api::{Collider, Transform2d, Velocity};
use rocks_game::{GameConfig, build_app};
use tests::*;

mirror!(Message HostilePing = "hostile::Ping" { value: u32 });

/// Where the hand-written mods put the host's frame buffer (1 MiB). The
/// descriptor sits at 16; [`SCRATCH`]..`FRAME_AT` holds their outputs.
const FRAME_AT: u32 = 1 << 20;
/// Start of the space for a mod's command streams and message records.
const SCRATCH: u32 = 64 << 10;

/// A hand-written mod (ABI 1.0): `mod_init` returns `descriptor` (RON, in a
/// data segment at 16), `mod_run` runs `run` (local `$i`; params
/// `$system`, `$frame`; must leave an `i32` status), `mod_alloc` hands out
/// a buffer at [`FRAME_AT`], growing memory as needed.
struct Wat {
    descriptor: String,
    run: String,
    init: Option<String>,
    alloc: Option<String>,
    imports: String,
    memory: String,
    data: Vec<(u32, Vec<u8>)>,
    extra: String,
}

impl Wat {
    fn new(descriptor: &str, run: &str) -> Self {
        Wat {
            descriptor: descriptor.to_string(),
            run: run.to_string(),
            init: None,
            alloc: None,
            imports: String::new(),
            memory: format!(r#"(memory (export "memory") {})"#, FRAME_AT / 65536 + 1),
            data: Vec::new(),
            extra: String::new(),
        }
    }
    /// Replaces the body of `mod_init` (must leave an `i64`).
    fn init(mut self, body: &str) -> Self {
        self.init = Some(body.to_string());
        self
    }
    /// Replaces the body of `mod_alloc` (params `$size`, `$align`; must leave an `i32`).
    fn alloc(mut self, body: &str) -> Self {
        self.alloc = Some(body.to_string());
        self
    }
    fn import(mut self, import: &str) -> Self {
        self.imports.push_str(import);
        self
    }
    fn memory(mut self, memory: &str) -> Self {
        self.memory = memory.to_string();
        self
    }
    fn data(mut self, at: u32, bytes: Vec<u8>) -> Self {
        self.data.push((at, bytes));
        self
    }
    /// More module fields (functions, globals).
    fn extra(mut self, fields: &str) -> Self {
        self.extra.push_str(fields);
        self
    }
    fn build(self) -> Vec<u8> {
        assert!(16 + self.descriptor.len() < SCRATCH as usize, "the descriptor fits below the scratch space");
        let packed = ((self.descriptor.len() as u64) << 32) | 16;
        let init = self.init.unwrap_or_else(|| format!("(i64.const {packed})"));
        let alloc = self.alloc.unwrap_or_else(|| {
            format!(
                "(local $pages i32)
                 (local.set $pages (i32.shr_u (i32.add (local.get $size) (i32.const {})) (i32.const 16)))
                 (if (i32.gt_u (local.get $pages) (memory.size))
                   (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
                     (then unreachable))))
                 (i32.const {FRAME_AT})",
                FRAME_AT + 65535
            )
        });
        let mut data = format!(r#"(data (i32.const 16) "{}")"#, escape(self.descriptor.as_bytes()));
        for (at, bytes) in &self.data {
            data.push_str(&format!(r#"(data (i32.const {at}) "{}")"#, escape(bytes)));
        }
        let text = format!(
            r#"(module (@custom "bevy_mod_abi" "\01\00\00\00")
                {imports}
                {memory}
                {data}
                (func (export "mod_alloc") (param $size i32) (param $align i32) (result i32) {alloc})
                (func (export "mod_init") (result i64) {init})
                (func (export "mod_run") (param $system i32) (param $frame i32) (result i32)
                  (local $i i32)
                  {run})
                {extra})"#,
            imports = self.imports,
            memory = self.memory,
            run = self.run,
            extra = self.extra,
        );
        wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }
}

/// A mod whose descriptor is too big for the space below [`SCRATCH`]: it
/// lives at `SCRATCH` instead (up to `FRAME_AT`); `mod_run` runs `run`.
fn big_descriptor_mod(descriptor: &str, run: &str) -> Vec<u8> {
    assert!(SCRATCH as usize + descriptor.len() <= FRAME_AT as usize);
    let packed = ((descriptor.len() as u64) << 32) | SCRATCH as u64;
    Wat::new("", run).data(SCRATCH, descriptor.as_bytes().to_vec()).init(&format!("(i64.const {packed})")).build()
}

/// Bytes as a WAT string literal's contents.
fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// WAT that sets output slot `p` of the frame to `len` bytes at address `at`.
fn out(p: u32, at: u32, len: u32) -> String {
    format!(
        "(i32.store (i32.add (local.get $frame) (i32.const {})) (i32.const {at:#x}))
         (i32.store (i32.add (local.get $frame) (i32.const {})) (i32.const {len:#x}))",
        128 + 8 * p,
        132 + 8 * p
    )
}

/// A descriptor named `name` with component 0 `hostile::Thing` (4 bytes),
/// message 0 `hostile::Ping` (4 bytes) and one `Update` system
/// `{name}::attack` with `params`.
fn descriptor(name: &str, params: &str) -> String {
    format!(
        r#"(name: "{name}", version: "1.0.0",
            components: [(name: "hostile::Thing", size: 4, align: 4)],
            messages: [(name: "hostile::Ping", size: 4, align: 4)],
            systems: [(name: "{name}::attack", schedule: Update, params: [{params}])])"#
    )
}

/// A mod whose one system sends `stream` as its command stream, every run.
fn commands_mod(name: &str, stream: &[u8]) -> Vec<u8> {
    Wat::new(&descriptor(name, "Commands"), &format!("{} (i32.const 0)", out(0, SCRATCH, stream.len() as u32)))
        .data(SCRATCH, stream.to_vec())
        .build()
}

/// A mod whose one system sets its message writer slot to `len` bytes at `at`, every run.
fn writer_mod(name: &str, at: u32, len: u32) -> Vec<u8> {
    Wat::new(&descriptor(name, "MessageWriter(message: 0)"), &format!("{} (i32.const 0)", out(0, at, len))).build()
}

/// Little-endian `u32` words.
fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// `SPAWN` of one `hostile::Thing` (local id 0) holding `value`.
fn spawn_thing(value: u32) -> Vec<u8> {
    words(&[2, 1, 0, value])
}

/// `DESPAWN` (opcode 5) of the entity with id `bits`.
fn despawn(bits: u64) -> Vec<u8> {
    [words(&[5]), bits.to_le_bytes().to_vec()].concat()
}

/// A headless game over a folder holding `mover` and `mods`, with `limits`,
/// started; `before` runs on the app and the folder before the first frame
/// (when the folder is read).
fn game_with(
    mods: &[(&str, Vec<u8>)],
    limits: ModLimits,
    before: impl FnOnce(&mut App, &std::path::Path),
) -> (TempDir, App) {
    let dir = mod_dir(&["mover"]);
    for (file, bytes) in mods {
        std::fs::write(dir.path().join(file), bytes).unwrap();
    }
    let config = GameConfig { limits, ..headless_config(dir.path()) };
    let mut app = build_app(&config);
    app.finish();
    app.cleanup();
    before(&mut app, dir.path());
    let t = std::time::Instant::now();
    while !app.world().resource::<ModRegistry>().settled() {
        assert!(t.elapsed() < HANG_GUARD, "mods did not load within {HANG_GUARD:?}");
        app.update();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    (dir, app)
}

fn game(mods: &[(&str, Vec<u8>)]) -> (TempDir, App) {
    game_with(mods, ModLimits::default(), |_, _| {})
}

/// Runs frames (at most 100) until `file` fails, then asserts its error
/// mentions every one of `parts` and returns it.
fn fails(app: &mut App, file: &str, parts: &[&str]) -> String {
    for _ in 0..100 {
        if matches!(status(app, file), ModStatus::Failed(_)) {
            break;
        }
        app.update();
    }
    assert_failed(app, file, parts)
}

/// The game goes on: frames run, and `mover` still runs and moves a fresh entity.
fn game_goes_on(app: &mut App) {
    let e = app.world_mut().spawn((Transform2d::default(), Velocity(Vec2::X * 60.0))).id();
    run(app, 30);
    // The status first: if mover stopped, its error says why.
    let mover = entry(app, "mover.wasm");
    assert_eq!(mover.status(), ModStatus::Running, "mover stopped: {:?}", mover.error());
    let x = app.world().get::<Transform2d>(e).unwrap().translation.x;
    assert!(x > 20.0, "mover kept moving (x = {x})");
}

/// Spawns an entity with a `hostile::Thing` holding `value`.
fn spawn_with_thing(app: &mut App, value: u32) -> Entity {
    let thing = app.world().resource::<ModComponents>().get("hostile::Thing").unwrap().id;
    let mut e = app.world_mut().spawn_empty();
    // SAFETY: `hostile::Thing` is 4 bytes of plain data; the value is moved in.
    engine::bevy::ptr::OwningPtr::make(value, |ptr| unsafe {
        e.insert_by_id(thing, ptr);
    });
    e.id()
}

/// Entities with the mod component named `name`.
fn with_component(app: &mut App, name: &str) -> usize {
    let Some(c) = app.world().resource::<ModComponents>().get(name) else { return 0 };
    let world = app.world_mut();
    let mut q = QueryBuilder::<Entity>::new(world).with_id(c.id).build();
    q.iter(world).count()
}

// CPU

/// A mod that never returns from `mod_run` (a denial of service on the frame loop).
#[test]
fn a_mod_run_that_never_returns_is_stopped_at_its_deadline() {
    let wasm = Wat::new(&descriptor("spinner", ""), "(loop $l (br $l)) (i32.const 0)").build();
    let (_dir, mut app) = game(&[("spinner.wasm", wasm)]);
    fails(&mut app, "spinner.wasm", &["spinner.wasm", "spinner::attack", "mod_run", "deadline of 10 ms"]);
    game_goes_on(&mut app);
}

/// A tracing layer that puts the thread to sleep for 40 ms whenever a mod
/// logs "nap": the mod's call is then off the CPU far past its 10 ms
/// deadline, as when a loaded machine deschedules the game's thread.
struct Napper(std::sync::Arc<std::sync::atomic::AtomicU32>);

impl<S: engine::bevy::log::tracing::Subscriber> engine::bevy::log::tracing_subscriber::Layer<S> for Napper {
    fn on_event(
        &self,
        event: &engine::bevy::log::tracing::Event<'_>,
        _: engine::bevy::log::tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Message(bool);
        impl engine::bevy::log::tracing::field::Visit for Message {
            fn record_debug(&mut self, _: &engine::bevy::log::tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0 |= format!("{value:?}").ends_with("] nap");
            }
        }
        let mut message = Message(false);
        event.record(&mut message);
        if message.0 {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_millis(40));
        }
    }
}

/// A mod whose thread is off the CPU for four times its deadline in the
/// middle of a call is not stopped: deadlines count the time the mod ran
/// (its thread's CPU time), not the wall clock. In the same game, a mod
/// that loops without end is still stopped at its deadline.
#[test]
fn a_mod_descheduled_past_its_deadline_runs_on_and_an_endless_loop_is_still_stopped() {
    use engine::bevy::log::tracing_subscriber::layer::SubscriberExt;
    let naps = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let subscriber = engine::bevy::log::tracing_subscriber::registry().with(Napper(naps.clone()));
    // This thread's alone (mods run on the thread that runs the frame).
    let _guard = engine::bevy::log::tracing::subscriber::set_default(subscriber);
    // Log "nap", then loop a while (the loop's back-edges are where the
    // deadline is checked).
    let body = format!(
        "(call $log (i32.const 3) (i32.const {SCRATCH}) (i32.const 3))
         (local.set $i (i32.const 100000))
         (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
         (i32.const 0)"
    );
    let sleepy = Wat::new(&descriptor("sleepy", ""), &body)
        .import(r#"(import "bevy_mod" "log" (func $log (param i32 i32 i32)))"#)
        .data(SCRATCH, b"nap".to_vec())
        .build();
    let spinner = Wat::new(&descriptor("spinner", ""), "(loop $l (br $l)) (i32.const 0)").build();
    let (_dir, mut app) = game(&[("sleepy.wasm", sleepy), ("spinner.wasm", spinner)]);
    fails(&mut app, "spinner.wasm", &["spinner.wasm", "spinner::attack", "mod_run", "deadline of 10 ms"]);
    run(&mut app, 3);
    let naps = naps.load(std::sync::atomic::Ordering::Relaxed);
    assert!(naps >= 3, "the mod napped in its calls ({naps} naps)");
    assert_eq!(status(&app, "sleepy.wasm"), ModStatus::Running);
    game_goes_on(&mut app);
}

/// A mod that never returns from `mod_init` (hangs the game while it loads).
#[test]
fn a_mod_init_that_never_returns_fails_to_start_at_its_deadline() {
    let wasm = Wat::new(&descriptor("sleeper", ""), "(i32.const 0)").init("(loop $l (br $l)) (i64.const 0)").build();
    let (_dir, mut app) = game(&[("sleeper.wasm", wasm)]);
    fails(&mut app, "sleeper.wasm", &["sleeper.wasm", "mod_init", "deadline of 1000 ms", "init_deadline_ms"]);
    game_goes_on(&mut app);
}

/// A mod that never returns when the host asks it for a frame buffer.
#[test]
fn a_mod_alloc_that_never_returns_is_stopped_at_its_deadline() {
    let wasm = Wat::new(&descriptor("hoarder", ""), "(i32.const 0)").alloc("(loop $l (br $l)) (i32.const 0)").build();
    let (_dir, mut app) = game(&[("hoarder.wasm", wasm)]);
    fails(&mut app, "hoarder.wasm", &["hoarder.wasm", "hoarder::attack", "mod_alloc", "deadline of 10 ms"]);
    game_goes_on(&mut app);
}

/// `query_entities` (ABI 1.4) and `query_fetch` (1.8) asked for a slot
/// that holds no query, a negative slot, or outside a system call: each
/// answers 1 and writes nothing.
#[test]
fn query_entities_and_query_fetch_outside_a_query_answer_one() {
    for import in ["query_entities", "query_fetch"] {
        let qe = format!(r#"(import "bevy_mod" "{import}" (func $qe (param i32) (result i32)))"#);
        let (name, desc) = ("asker", descriptor("asker", ""));
        let packed = ((desc.len() as u64) << 32) | 16;
        let asker = Wat::new(
            &desc,
            "(if (i32.ne (call $qe (i32.const 7)) (i32.const 1)) (then unreachable))
             (if (i32.ne (call $qe (i32.const -1)) (i32.const 1)) (then unreachable))
             (i32.const 0)",
        )
        .import(&qe)
        .init(&format!("(if (i32.ne (call $qe (i32.const 0)) (i32.const 1)) (then unreachable)) (i64.const {packed})"))
        .build();
        let (_dir, mut app) = game(&[(&format!("{name}.wasm"), asker)]);
        run(&mut app, 10);
        assert_eq!(status(&app, "asker.wasm"), ModStatus::Running, "{import}");
        game_goes_on(&mut app);
    }
}

/// `query_entities` (and `query_fetch`) for a query that matched nothing (no
/// entity has the component: zero batches) answers 0, as for any query slot
/// of the call: there is nothing to write, and nothing missing. (It answered 1 once, and the
/// Rust SDK's lookups trapped the demo's `rules` mod when no bullet flew.)
#[test]
fn query_entities_and_query_fetch_for_a_query_that_matched_nothing_answer_zero() {
    for import in ["query_entities", "query_fetch"] {
        let qe = format!(r#"(import "bevy_mod" "{import}" (func $qe (param i32) (result i32)))"#);
        let params = "Query(terms: [(component: 0, access: Read)]), Commands";
        let asker = Wat::new(
            &descriptor("empty", params),
            "(if (i32.ne (call $qe (i32.const 0)) (i32.const 0)) (then unreachable))
             (if (i32.ne (call $qe (i32.const 0)) (i32.const 0)) (then unreachable))
             (if (i32.ne (call $qe (i32.const 1)) (i32.const 1)) (then unreachable))
             (i32.const 0)",
        )
        .import(&qe)
        .build();
        let (_dir, mut app) = game(&[("empty.wasm", asker)]);
        run(&mut app, 10);
        assert_eq!(status(&app, "empty.wasm"), ModStatus::Running, "{import}");
        assert_eq!(with_component(&mut app, "hostile::Thing"), 0, "the query matched nothing");
        game_goes_on(&mut app);
    }
}

/// `query_locate` (ABI 1.6) asked about bits that are no entity, an entity
/// the query does not match, a slot that holds no query, a negative slot,
/// or outside a system call: it answers -1, and never traps.
#[test]
fn query_locate_with_nonsense_answers_minus_one() {
    let ql = r#"(import "bevy_mod" "query_locate" (func $ql (param i32 i64) (result i64)))"#;
    let desc = descriptor("locator", "Query(terms: [(component: 0, access: Read)])");
    let packed = ((desc.len() as u64) << 32) | 16;
    let minus_one = |slot: i32, bits: i64| {
        format!("(if (i64.ne (call $ql (i32.const {slot}) (i64.const {bits})) (i64.const -1)) (then unreachable))")
    };
    let body = [minus_one(0, -1), minus_one(0, 0), minus_one(0, 1 << 40), minus_one(5, 0), minus_one(-3, 12345)];
    let locator = Wat::new(&desc, &format!("{} (i32.const 0)", body.concat()))
        .import(ql)
        .init(&format!("{} (i64.const {packed})", minus_one(0, 0)))
        .build();
    let (_dir, mut app) = game(&[("locator.wasm", locator)]);
    run(&mut app, 10);
    assert_eq!(status(&app, "locator.wasm"), ModStatus::Running);
    game_goes_on(&mut app);
}

/// A system whose query matched nothing still hands back its commands:
/// the host skips the checks and write-back of a run with nothing to hand
/// back, and commands are something. The system spawns a `Thing` only while
/// its query (of `Thing`s) has no batch, so exactly one is ever spawned.
#[test]
fn a_system_whose_query_matched_nothing_still_sends_its_commands() {
    let params = "Query(terms: [(component: 0, access: Write)]), Commands";
    let stream = spawn_thing(5);
    let batches = "(i32.load (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))))";
    let body = format!("(if (i32.eqz {batches}) (then {})) (i32.const 0)", out(1, SCRATCH, stream.len() as u32));
    let seeder = Wat::new(&descriptor("seeder", params), &body).data(SCRATCH, stream).build();
    let (_dir, mut app) = game(&[("seeder.wasm", seeder)]);
    run(&mut app, 10);
    assert_eq!(status(&app, "seeder.wasm"), ModStatus::Running);
    assert_eq!(with_component(&mut app, "hostile::Thing"), 1, "spawned once, by the run whose query matched nothing");
    game_goes_on(&mut app);
}

/// A run whose queries match nothing, with no messages waiting, gets its
/// frame written without the full layout pass; the frame is still the one
/// ABI.md lays out. Four parameters: 128 header bytes and 32 of slots, so
/// the first query's header is at 160 (batch count 0, stride 8 + 4 for one
/// term), the reader's empty block and the second query's header at 176,
/// the commands slot empty. The mod checks each word and stops with
/// `unreachable` on the first that differs; a `Thing` in the world gives
/// both queries a batch, and the check stops being made.
#[test]
fn a_run_whose_queries_match_nothing_gets_the_frame_abi_md_lays_out() {
    let params = "Query(terms: [(component: 0, access: Write)]), MessageReader(message: 0), Commands, \
                  Query(terms: [(component: 0, access: Read)])";
    let expect = [(4, 4), (128, 160), (132, 16), (136, 176), (140, 0), (144, 0), (148, 0), (152, 176), (156, 16)];
    let expect = expect.iter().chain(&[(160, 0), (164, 12), (176, 0), (180, 12)]);
    let checks: String = expect
        .map(|(at, v)| {
            format!("(if (i32.ne (i32.load (i32.add (local.get $frame) (i32.const {at}))) (i32.const {v})) (then unreachable))")
        })
        .collect();
    let batches = "(i32.load (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))))";
    let body = format!("(if (i32.eqz {batches}) (then {checks})) (i32.const 0)");
    let (_dir, mut app) = game(&[("checker.wasm", Wat::new(&descriptor("checker", params), &body).build())]);
    run(&mut app, 5);
    assert_eq!(status(&app, "checker.wasm"), ModStatus::Running, "the empty frames were as ABI.md lays them out");
    spawn_with_thing(&mut app, 7);
    run(&mut app, 5);
    assert_eq!(status(&app, "checker.wasm"), ModStatus::Running);
    game_goes_on(&mut app);
}

/// A system whose parameters are only queries gets, in every run that
/// matches nothing, the frame ABI.md lays out (the host writes it again
/// from what it kept, `IdleFrame`): the mod scribbles over its slots and
/// query headers after checking them, and checks that the header's frame
/// number moves on. An entity that arrives in a new table, or in a table
/// the system already matched while it was empty, is in the next run's
/// frame: the mod sets its `Thing` to 99.
#[test]
fn a_system_that_matches_nothing_gets_its_frame_anew_and_sees_what_arrives() {
    let params = "Query(terms: [(component: 0, access: Write)]), Query(terms: [(component: 0, access: Read)])";
    let expect = [(4, 2), (128, 144), (132, 16), (136, 160), (140, 16), (144, 0), (148, 12), (160, 0), (164, 12)];
    let checks: String = expect
        .iter()
        .map(|(at, v)| {
            format!("(if (i32.ne (i32.load (i32.add (local.get $frame) (i32.const {at}))) (i32.const {v})) (then unreachable))")
        })
        .collect();
    let scribble: String = (128..176)
        .step_by(8)
        .map(|at| format!("(i64.store (i32.add (local.get $frame) (i32.const {at})) (i64.const -1))"))
        .collect();
    // The next frame number it may see, kept at SCRATCH.
    let frame_moves_on = format!(
        "(if (i64.lt_u (i64.load (i32.add (local.get $frame) (i32.const 16))) (i64.load (i32.const {SCRATCH})))
           (then unreachable))
         (i64.store (i32.const {SCRATCH}) (i64.add (i64.load (i32.add (local.get $frame) (i32.const 16))) (i64.const 1)))"
    );
    let body = format!(
        "(local $b i32)
         (local.set $b (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))))
         (if (i32.eqz (i32.load (local.get $b)))
           (then {checks} {frame_moves_on} {scribble})
           (else
             (local.set $b (i32.add (local.get $b) (i32.const 8)))
             (block $done (loop $rows
               (br_if $done (i32.ge_u (local.get $i) (i32.load (local.get $b))))
               (i32.store (i32.add (i32.add (local.get $frame) (i32.load (i32.add (local.get $b) (i32.const 8))))
                                   (i32.mul (local.get $i) (i32.const 4))) (i32.const 99))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br $rows)))))
         (i32.const 0)"
    );
    let (_dir, mut app) = game(&[("idler.wasm", Wat::new(&descriptor("idler", params), &body).build())]);
    let running = |app: &App, when: &str| {
        let idler = entry(app, "idler.wasm");
        assert_eq!(idler.status(), ModStatus::Running, "{when}: {:?}", idler.error());
    };
    run(&mut app, 5);
    running(&app, "five runs that matched nothing");
    // The first entity makes a new archetype, in a table of its own; the
    // second goes to that table, which the system matched while it was empty.
    for (value, table) in [(1, "a new table"), (2, "a table matched while it was empty")] {
        let e = spawn_with_thing(&mut app, value);
        run(&mut app, 1);
        assert_eq!(thing_values(&app, &[e]), [99], "the entity in {table} was in the frame");
        app.world_mut().despawn(e);
        run(&mut app, 5);
        running(&app, &format!("idle again after the entity in {table} left"));
    }
    game_goes_on(&mut app);
}

/// Runs mod `name` (`wasm`) alone for two frames, spawns three entities
/// with a `Thing` of 1, 2 and 3 (one table, rows in that order), runs one
/// more frame and returns their `Thing`s, after checking the mod still runs.
fn after_one_run_on_three_things(name: &str, wasm: Vec<u8>) -> Vec<u32> {
    let file = format!("{name}.wasm");
    let (_dir, mut app) = game(&[(&file, wasm)]);
    run(&mut app, 2);
    let things: Vec<Entity> = (1..=3u32).map(|v| spawn_with_thing(&mut app, v)).collect();
    run(&mut app, 1);
    assert_eq!(status(&app, &file), ModStatus::Running, "{name} ran without trapping");
    thing_values(&app, &things)
}

/// The `Thing` of each of `things`.
fn thing_values(app: &App, things: &[Entity]) -> Vec<u32> {
    let thing = app.world().resource::<ModComponents>().get("hostile::Thing").unwrap().id;
    // SAFETY: a `Thing` is a `u32`.
    things.iter().map(|&e| unsafe { app.world().get_by_id(e, thing).unwrap().deref::<u32>() }.to_owned()).collect()
}

/// A mod writing 99 into every `Thing` of its one batch; with `report`, it
/// sets its query slot's `len` to `TOUCHED_LOCATED` (ABI 1.7) after asking
/// `query_locate` for the batch's second entity.
fn toucher(name: &str, report: bool) -> Vec<u8> {
    let ql = r#"(import "bevy_mod" "query_locate" (func $ql (param i32 i64) (result i64)))"#;
    let params = "Query(terms: [(component: 0, access: Write)], entities: true)";
    let report = if report {
        format!(
            "(i32.store (i32.add (local.get $frame) (i32.const 132)) (i32.const {}))",
            mod_api::abi::TOUCHED_LOCATED as i32
        )
    } else {
        String::new()
    };
    let body = format!(
        "(local $b i32)
         (local.set $b (i32.add (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))) (i32.const 8)))
         (block $done (loop $rows
           (br_if $done (i32.ge_u (local.get $i) (i32.load (local.get $b))))
           (i32.store (i32.add (i32.add (local.get $frame) (i32.load (i32.add (local.get $b) (i32.const 8))))
                               (i32.mul (local.get $i) (i32.const 4))) (i32.const 99))
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br $rows)))
         (drop (call $ql (i32.const 0)
           (i64.load (i32.add (i32.add (local.get $frame) (i32.load (i32.add (local.get $b) (i32.const 4)))) (i32.const 8)))))
         {report}
         (i32.const 0)"
    );
    Wat::new(&descriptor(name, params), &body).import(ql).build()
}

/// ABI 1.7: a query slot whose `len` says `TOUCHED_LOCATED` gets back only
/// the rows `query_locate` found in the run (the mod's writes to the others
/// are not taken); left as the host wrote it, every changed row is.
#[test]
fn a_query_that_reports_touched_located_gets_back_only_the_rows_it_found() {
    for (report, expected) in [(true, [1, 99, 3]), (false, [99, 99, 99])] {
        let name = if report { "reporter" } else { "silent" };
        let values = after_one_run_on_three_things(name, toucher(name, report));
        assert_eq!(values, expected, "report {report}");
    }
}

/// A mod that imports `query_fetch` (ABI 1.8) and fills every row of its
/// one batch of `Thing`s with 77, then looks up the second entity: the host
/// writes that row (its value, 2), and the mod makes it 99. A second lookup
/// keeps the 99. With `fetch`, it then asks for every column: rows 0 and 2
/// hold the world's values again, row 1 still its 99, and it makes row 2 55.
/// Any other content traps.
fn fetcher(name: &str, fetch: bool) -> Vec<u8> {
    let ql = r#"(import "bevy_mod" "query_locate" (func $ql (param i32 i64) (result i64)))"#;
    let qf = r#"(import "bevy_mod" "query_fetch" (func $qf (param i32) (result i32)))"#;
    let params = "Query(terms: [(component: 0, access: Write)], entities: true)";
    let row = |n: u32, value: u32| {
        format!("(if (i32.ne (i32.load offset={} (local.get $col)) (i32.const {value})) (then unreachable))", 4 * n)
    };
    let second = "(drop (call $ql (i32.const 0) (i64.load offset=8 (i32.add (local.get $frame)                   (i32.load offset=4 (local.get $b))))))";
    let fetch = if fetch {
        format!(
            "(if (call $qf (i32.const 0)) (then unreachable)) {} {} {}
             (i32.store offset=8 (local.get $col) (i32.const 55))",
            row(0, 1),
            row(1, 99),
            row(2, 3)
        )
    } else {
        String::new()
    };
    let body = format!(
        "(local $b i32) (local $col i32)
         (local.set $b (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))))
         (if (i32.eqz (i32.load (local.get $b))) (then (return (i32.const 0))))
         (local.set $b (i32.add (local.get $b) (i32.const 8)))
         (local.set $col (i32.add (local.get $frame) (i32.load offset=8 (local.get $b))))
         (block $done (loop $rows
           (br_if $done (i32.ge_u (local.get $i) (i32.load (local.get $b))))
           (i32.store (i32.add (local.get $col) (i32.mul (local.get $i) (i32.const 4))) (i32.const 77))
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br $rows)))
         {second} {row1}
         (i32.store offset=4 (local.get $col) (i32.const 99))
         {second} {row1_kept}
         {fetch}
         (i32.const 0)",
        row1 = row(1, 2),
        row1_kept = row(1, 99),
    );
    Wat::new(&descriptor(name, params), &body).import(ql).import(qf).build()
}

/// ABI 1.8: a mod that imports `query_fetch` gets its columns only when it
/// asks, or row by row from `query_locate`; a row it changed stays changed
/// when it asks for the rest; and rows the host never wrote (the 77s) never
/// go back into the world.
#[test]
fn a_mod_that_imports_query_fetch_gets_the_rows_it_asks_for_and_gives_back_only_those() {
    for (fetch, expected) in [(false, [1, 99, 3]), (true, [1, 99, 55])] {
        let name = if fetch { "fetcher" } else { "locator" };
        // The mod traps if a row holds other than what ABI.md says.
        let values = after_one_run_on_three_things(name, fetcher(name, fetch));
        assert_eq!(values, expected, "fetch {fetch}");
    }
}

/// ABI 1.8 with a change filter: the batch holds chosen rows of the table,
/// so the row `query_locate` writes, and the one written back, are the
/// table's row of the batch's row. The mod imports `query_fetch`, looks up
/// the first entity of its one batch (`Changed<Thing>`) and adds 100 to
/// the value the host wrote there.
#[test]
fn a_row_found_among_chosen_rows_is_written_and_given_back_at_its_table_row() {
    let ql = r#"(import "bevy_mod" "query_locate" (func $ql (param i32 i64) (result i64)))"#;
    let qf = r#"(import "bevy_mod" "query_fetch" (func $qf (param i32) (result i32)))"#;
    let params = "Query(terms: [(component: 0, access: Write)], entities: true, changed: [0])";
    let body = "(local $b i32) (local $at i64) (local $col i32)
         (local.set $b (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))))
         (if (i32.eqz (i32.load (local.get $b))) (then (return (i32.const 0))))
         (local.set $b (i32.add (local.get $b) (i32.const 8)))
         (local.set $at (call $ql (i32.const 0)
           (i64.load (i32.add (local.get $frame) (i32.load offset=4 (local.get $b))))))
         (if (i64.ne (local.get $at) (i64.const 0)) (then unreachable))
         (local.set $col (i32.add (local.get $frame) (i32.load offset=8 (local.get $b))))
         (i32.store (local.get $col) (i32.add (i32.load (local.get $col)) (i32.const 100)))
         (i32.const 0)";
    let wasm = Wat::new(&descriptor("chooser", params), body).import(ql).import(qf).build();
    let (_dir, mut app) = game(&[("chooser.wasm", wasm)]);
    run(&mut app, 2);
    let things: Vec<Entity> = (1..=3u32).map(|v| spawn_with_thing(&mut app, v)).collect();
    // All three are new: the batch is rows 0, 1, 2, and the mod finds the first.
    run(&mut app, 1);
    assert_eq!(thing_values(&app, &things), [101, 2, 3]);
    // Only the third changes: the batch is its row alone (table row 2).
    let thing = app.world().resource::<ModComponents>().get("hostile::Thing").unwrap().id;
    // SAFETY: a `Thing` is a `u32`.
    unsafe { *app.world_mut().get_mut_by_id(things[2], thing).unwrap().into_inner().deref_mut::<u32>() = 30 };
    run(&mut app, 1);
    assert_eq!(thing_values(&app, &things), [101, 2, 130]);
    assert_eq!(status(&app, "chooser.wasm"), ModStatus::Running);
}

/// The swap to optimized code (DESIGN.md, tiered compilation) is not a
/// reload: a `Changed` filter sees, after it, only what changed since its
/// system last ran. The game's `Collider`s exist before the mod starts, so
/// the mod's first run is on baseline code (the swap is checked at the next
/// frame boundary at the earliest), whenever the optimized code arrives.
#[test]
fn a_change_filter_sees_across_the_swap_to_optimized_code_only_what_changed() {
    let descriptor = r#"(name: "grower", version: "1.0.0",
        components: [(name: "rocks_api::Collider", size: 12, align: 4)], messages: [],
        systems: [(name: "grower::grow", schedule: Update,
                   params: [Query(terms: [(component: 0, access: Write)], changed: [0])])])"#;
    // Adds 100 to the radius of the batch's first `Collider`.
    let body = "(local $b i32) (local $col i32)
         (local.set $b (i32.add (local.get $frame) (i32.load (i32.add (local.get $frame) (i32.const 128)))))
         (if (i32.eqz (i32.load (local.get $b))) (then (return (i32.const 0))))
         (local.set $b (i32.add (local.get $b) (i32.const 8)))
         (local.set $col (i32.add (local.get $frame) (i32.load offset=8 (local.get $b))))
         (f32.store (local.get $col) (f32.add (f32.load (local.get $col)) (f32.const 100)))
         (i32.const 0)";
    let wasm = Wat::new(descriptor, body).build();
    let mut colliders = Vec::new();
    let (_dir, mut app) = game_with(&[("grower.wasm", wasm)], ModLimits::default(), |app, _| {
        colliders =
            (1..=3).map(|r| app.world_mut().spawn(Collider { radius: r as f32, layer: 0, mask: 0 }).id()).collect();
    });
    let radii =
        |app: &App| -> Vec<f32> { colliders.iter().map(|&e| app.world().get::<Collider>(e).unwrap().radius).collect() };
    let tier = |app: &App| entry(app, "grower.wasm").instance().expect("the mod runs").tier();
    assert_eq!(status(&app, "grower.wasm"), ModStatus::Running);
    assert_eq!(tier(&app), Tier::Baseline, "the mod's first run was on baseline code");
    assert_eq!(radii(&app), [101.0, 2.0, 3.0], "all three were new: the batch's first grew");
    until(&mut app, "the optimized code runs", |app| {
        assert_eq!(radii(app), [101.0, 2.0, 3.0], "nothing changed since the last run");
        tier(app) == Tier::Optimized
    });
    run(&mut app, 2);
    assert_eq!(radii(&app), [101.0, 2.0, 3.0], "nothing changed since the last run, on either tier");
    app.world_mut().get_mut::<Collider>(colliders[2]).unwrap().radius = 30.0;
    run(&mut app, 1);
    assert_eq!(radii(&app), [101.0, 2.0, 130.0], "the optimized code sees only the change");
    assert_eq!(status(&app, "grower.wasm"), ModStatus::Running);
}

/// A system whose `Populated` query (ABI 1.6 `populated`) matches nothing is
/// not called: a body that traps runs only once a `Thing` exists.
#[test]
fn a_populated_query_that_matches_nothing_is_not_run() {
    let params = "Query(terms: [(component: 0, access: Read)], populated: true)";
    let idler = Wat::new(&descriptor("idler", params), "unreachable").build();
    let (_dir, mut app) = game(&[("idler.wasm", idler)]);
    run(&mut app, 10);
    assert_eq!(status(&app, "idler.wasm"), ModStatus::Running, "never called: no entity has a Thing");
    spawn_with_thing(&mut app, 7);
    fails(&mut app, "idler.wasm", &["idler.wasm", "idler::attack", "unreachable"]);
    game_goes_on(&mut app);
}

// Memory

fn small_memory() -> ModLimits {
    ModLimits { max_memory_bytes: 8 << 20, ..Default::default() }
}

/// A mod that grows its memory without end, ignoring failures (exhausts the host's RAM).
#[test]
fn a_mod_growing_its_memory_without_end_is_stopped_at_the_limit() {
    let run = "(loop $l (drop (memory.grow (i32.const 1))) (br $l)) (i32.const 0)";
    let wasm = Wat::new(&descriptor("glutton", ""), run).build();
    let (_dir, mut app) = game_with(&[("glutton.wasm", wasm)], small_memory(), |_, _| {});
    fails(
        &mut app,
        "glutton.wasm",
        &["glutton.wasm", "glutton::attack", "mod_run", "grew its memory past the limit of 8388608 bytes"],
    );
    game_goes_on(&mut app);
}

/// A module asking for more memory than the limit at instantiation.
#[test]
fn a_module_whose_initial_memory_exceeds_the_limit_fails_to_start() {
    // 200 pages = 12.5 MiB, over the 8 MiB limit.
    let wasm = Wat::new(&descriptor("whale", ""), "(i32.const 0)").memory(r#"(memory (export "memory") 200)"#).build();
    let (_dir, mut app) = game_with(&[("whale.wasm", wasm)], small_memory(), |_, _| {});
    fails(&mut app, "whale.wasm", &["whale.wasm", "failed to instantiate", "initial memory is larger than the limit"]);
    game_goes_on(&mut app);
}

// Traps

/// A mod whose `mod_run` traps with `trap` (WAT instructions); its error must
/// carry `cause`.
fn traps_alone(file: &str, trap: &str, extra: &str, cause: &str) {
    let name = file.trim_end_matches(".wasm");
    let wasm = Wat::new(&descriptor(name, ""), &format!("{trap} (i32.const 0)")).extra(extra).build();
    let (_dir, mut app) = game(&[(file, wasm)]);
    fails(&mut app, file, &[file, &format!("{name}::attack"), "mod_run", cause]);
    game_goes_on(&mut app);
}

/// A mod executing `unreachable` (the usual end of a panic without a message).
#[test]
fn a_mod_hitting_unreachable_is_disabled_alone() {
    traps_alone("abort.wasm", "unreachable", "", "unreachable");
}

/// A mod dividing by zero (a trap the compiler cannot see coming).
#[test]
fn a_mod_dividing_by_zero_is_disabled_alone() {
    let trap = "(drop (i32.div_u (i32.const 1) (i32.sub (local.get $system) (local.get $system))))";
    traps_alone("divider.wasm", trap, "", "divide by zero");
}

/// A mod loading from far outside its memory (probing the host's address space).
#[test]
fn a_mod_loading_outside_its_memory_is_disabled_alone() {
    traps_alone("prober.wasm", "(drop (i32.load (i32.const 0xfffffff0)))", "", "out of bounds memory access");
}

/// A mod recursing without end (overflowing the stack the host shares).
#[test]
fn a_mod_recursing_without_end_is_disabled_alone() {
    let recurse = "(func $down (param i32) (result i32) (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))";
    traps_alone("abyss.wasm", "(drop (call $down (i32.const 0)))", recurse, "call stack exhausted");
}

// Bad values: commands

/// A command slot pointing past the end of memory (to make the host read out of bounds).
#[test]
fn a_commands_slot_pointing_outside_memory_fails_the_mod() {
    let run = format!("{} (i32.const 0)", out(0, 0xffff_0000, 0x1000));
    let wasm = Wat::new(&descriptor("pointer", "Commands"), &run).build();
    let (_dir, mut app) = game(&[("pointer.wasm", wasm)]);
    fails(&mut app, "pointer.wasm", &["pointer.wasm", "pointer::attack", "command slot", "outside memory"]);
    game_goes_on(&mut app);
}

/// A command stream with an opcode the ABI does not define.
#[test]
fn an_unknown_command_opcode_fails_the_mod() {
    let stream = [spawn_thing(1), words(&[99, 0, 0])].concat();
    let (_dir, mut app) = game(&[("babbler.wasm", commands_mod("babbler", &stream))]);
    fails(&mut app, "babbler.wasm", &["babbler.wasm", "babbler::attack", "unknown command opcode 99 at byte 16"]);
    assert_eq!(with_component(&mut app, "hostile::Thing"), 0, "nothing of the failed run was applied");
    game_goes_on(&mut app);
}

/// A command stream that ends inside a command (to make the host read past it).
#[test]
fn a_truncated_command_stream_fails_the_mod() {
    // SPAWN, count 1, local id 0, then 2 of the component's 4 bytes.
    let stream = [words(&[2, 1, 0]), vec![7, 7]].concat();
    let (_dir, mut app) = game(&[("stutter.wasm", commands_mod("stutter", &stream))]);
    fails(&mut app, "stutter.wasm", &["stutter.wasm", "stutter::attack", "ends early at byte 12 (needs 4 more)"]);
    assert_eq!(with_component(&mut app, "hostile::Thing"), 0, "nothing was spawned");
    game_goes_on(&mut app);
}

/// A command naming a local component id the mod never declared.
#[test]
fn a_component_id_out_of_range_fails_the_mod() {
    let stream = words(&[2, 1, 7, 0]);
    let (_dir, mut app) = game(&[("stranger.wasm", commands_mod("stranger", &stream))]);
    fails(&mut app, "stranger.wasm", &["stranger.wasm", "stranger::attack", "unknown component id 7"]);
    game_goes_on(&mut app);
}

/// One run spawning more entities than `max_spawns_per_run` (the default, 10,000).
#[test]
fn a_spawn_flood_stops_at_max_spawns_per_run() {
    let limit = ModLimits::default().max_spawns_per_run;
    let stream: Vec<u8> = (0..=limit as u32).flat_map(spawn_thing).collect();
    let (_dir, mut app) = game(&[("flood.wasm", commands_mod("flood", &stream))]);
    fails(
        &mut app,
        "flood.wasm",
        &["flood.wasm", "flood::attack", &format!("more than {limit}"), "max_spawns_per_run"],
    );
    assert_eq!(with_component(&mut app, "hostile::Thing"), 0, "nothing of the failed run was applied");
    game_goes_on(&mut app);
}

/// Spawning a little every run until the world is full (exhausts the host's RAM slowly).
#[test]
fn spawning_until_the_world_is_full_stops_at_max_world_entities() {
    let max = 2000;
    let stream: Vec<u8> = (0..300).flat_map(spawn_thing).collect();
    let limits = ModLimits { max_world_entities: max, ..Default::default() };
    let (_dir, mut app) = game_with(&[("breeder.wasm", commands_mod("breeder", &stream))], limits, |_, _| {});
    fails(&mut app, "breeder.wasm", &["breeder.wasm", "breeder::attack", "spawn refused", "max_world_entities"]);
    // Whole runs of 300 got in; the run that would have crossed the limit did not.
    let things = with_component(&mut app, "hostile::Thing");
    assert!(things > 0 && things < max && things.is_multiple_of(300), "{things} things");
    game_goes_on(&mut app);
}

/// Forged ids of an entity mods cannot see (the engine's own, such as a
/// window or camera): one mod inserts into it, another despawns it.
#[test]
fn forged_ids_of_engine_only_entities_cannot_change_or_despawn_them() {
    let mut forged = None;
    let (_dir, mut app) = game_with(&[], ModLimits::default(), |app, dir| {
        let e = app.world_mut().spawn(Name::new("engine-only")).id();
        forged = Some(e);
        let bits = e.to_bits();
        let insert = [words(&[3]), bits.to_le_bytes().to_vec(), words(&[1, 0, 42])].concat();
        std::fs::write(dir.join("inserter.wasm"), commands_mod("inserter", &insert)).unwrap();
        std::fs::write(dir.join("remover.wasm"), commands_mod("remover", &despawn(bits))).unwrap();
    });
    let e = forged.unwrap();
    let cause = format!("entity {e} is not the mods' to change");
    fails(&mut app, "inserter.wasm", &["inserter.wasm", "inserter::attack", &cause]);
    fails(&mut app, "remover.wasm", &["remover.wasm", "remover::attack", &cause]);
    let still = app.world().get::<Name>(e).expect("the engine's entity still exists");
    assert_eq!(still.as_str(), "engine-only");
    game_goes_on(&mut app);
}

/// A `DESPAWN` of 64 bits that are no entity id at all (Bevy's
/// `Entity::try_from_bits` refuses them: the low 32 bits are 0).
#[test]
fn a_despawn_of_bits_that_are_no_entity_fails_the_mod() {
    let (_dir, mut app) = game(&[("forger.wasm", commands_mod("forger", &despawn(0xdead_beef_0000_0000)))]);
    fails(&mut app, "forger.wasm", &["forger.wasm", "forger::attack", "0xdeadbeef00000000 is not an entity id"]);
    game_goes_on(&mut app);
}

/// `DESPAWN`s of well-formed ids of entities that do not exist (one despawned
/// before, one never allocated): skipped with a warning, the mod runs on.
#[test]
fn despawns_of_entities_that_do_not_exist_are_skipped() {
    let (_dir, mut app) = game_with(&[], ModLimits::default(), |app, dir| {
        let gone = app.world_mut().spawn(Transform2d::default()).id();
        app.world_mut().despawn(gone);
        let stream = [despawn(gone.to_bits()), despawn(u64::MAX), despawn(1)].concat();
        std::fs::write(dir.join("ghost.wasm"), commands_mod("ghost", &stream)).unwrap();
    });
    game_goes_on(&mut app);
    assert_eq!(status(&app, "ghost.wasm"), ModStatus::Running);
}

/// Commands for an entity the same run already despawned (a use after free).
#[test]
fn commands_for_an_entity_the_same_run_despawned_are_skipped() {
    let mut victim = None;
    let (_dir, mut app) = game_with(&[], ModLimits::default(), |app, dir| {
        let e = app.world_mut().spawn(Transform2d::default()).id();
        victim = Some(e);
        let bits = e.to_bits().to_le_bytes().to_vec();
        let insert = [words(&[3]), bits.clone(), words(&[1, 0, 42])].concat();
        let remove = [words(&[4]), bits.clone(), words(&[0])].concat();
        let stream = [despawn(e.to_bits()), insert, remove, despawn(e.to_bits())].concat();
        std::fs::write(dir.join("zombie.wasm"), commands_mod("zombie", &stream)).unwrap();
    });
    game_goes_on(&mut app);
    assert!(app.world().get_entity(victim.unwrap()).is_err(), "the entity was despawned");
    assert_eq!(with_component(&mut app, "hostile::Thing"), 0);
    assert_eq!(status(&app, "zombie.wasm"), ModStatus::Running);
}

/// A mod declaring new components by command without end (Bevy never frees
/// a component id): it is stopped at its own quota of names, so a mod that
/// arrives later still finds room for its own.
#[test]
fn a_mod_declaring_components_without_end_stops_at_its_quota_and_later_mods_still_start() {
    let mut stream = Vec::new();
    for n in 1..=5000u32 {
        let name = format!("hostile::C{n:04}");
        stream.extend(words(&[1, n, 4, 4, name.len() as u32]));
        stream.extend(name.as_bytes());
        stream.resize(stream.len().next_multiple_of(4), 0);
    }
    let (dir, mut app) = game(&[("hydra.wasm", commands_mod("hydra", &stream))]);
    fails(&mut app, "hydra.wasm", &["hydra.wasm", "hydra::attack", "the limit is 256 (max_names_per_mod)"]);
    assert_eq!(app.world().resource::<ModUsage>().of("hydra.wasm").names, 256);
    game_goes_on(&mut app);
    // A mod with names of its own, installed while the game runs, starts.
    replace(dir.path(), "counter.wasm", &mod_bytes("counter"));
    until(&mut app, "the later mod runs", |app| {
        app.world().resource::<ModRegistry>().get("counter.wasm").is_some_and(|m| m.is_running())
    });
}

// Bad values: messages

/// A message writer slot whose length is not whole records.
#[test]
fn a_message_writer_slot_with_partial_records_fails_the_mod() {
    let (_dir, mut app) = game(&[("ragged.wasm", writer_mod("ragged", SCRATCH, 6))]);
    let parts = ["ragged.wasm", "ragged::attack", "message writer slot 0 points at 6 bytes", "not whole records"];
    fails(&mut app, "ragged.wasm", &parts);
    game_goes_on(&mut app);
}

/// A message writer slot pointing past the end of memory.
#[test]
fn a_message_writer_slot_outside_memory_fails_the_mod() {
    let (_dir, mut app) = game(&[("reacher.wasm", writer_mod("reacher", 0xffff_fff0, 0x100))]);
    fails(&mut app, "reacher.wasm", &["reacher.wasm", "reacher::attack", "0xfffffff0", "outside memory"]);
    game_goes_on(&mut app);
}

/// One run sending more records than `max_messages_per_run` (the default, 100,000).
#[test]
fn a_message_flood_stops_at_max_messages_per_run() {
    let limit = ModLimits::default().max_messages_per_run as u32;
    let (_dir, mut app) = game(&[("spammer.wasm", writer_mod("spammer", SCRATCH, 4 * (limit + 1)))]);
    let cause = format!("sent {} messages in one run; the limit is {limit}", limit + 1);
    fails(&mut app, "spammer.wasm", &["spammer.wasm", "spammer::attack", &cause]);
    let mut cursor = 0;
    let sent = app.world_mut().resource_mut::<ModMessages>().read::<HostilePing>(&mut cursor);
    assert!(sent.is_empty(), "nothing of the failed run was sent");
    game_goes_on(&mut app);
}

/// Two systems, each under the per-run limit, together over the per-frame byte budget.
#[test]
fn message_bytes_beyond_the_frame_budget_fail_the_mod() {
    let budget = 1024;
    let system =
        |n: u32| format!("(name: \"chatter::attack{n}\", schedule: Update, params: [MessageWriter(message: 0)])");
    let descriptor = format!(
        r#"(name: "chatter", version: "1.0.0", components: [],
            messages: [(name: "hostile::Ping", size: 4, align: 4)], systems: [{}, {}])"#,
        system(0),
        system(1)
    );
    // Each run sends 200 records (800 bytes): the second system's run passes 1024.
    let wasm = Wat::new(&descriptor, &format!("{} (i32.const 0)", out(0, SCRATCH, 800))).build();
    let limits = ModLimits { max_message_bytes_per_frame: budget, ..Default::default() };
    let (_dir, mut app) = game_with(&[("chatter.wasm", wasm)], limits, |_, _| {});
    let cause = format!("sent more than {budget} bytes of messages in one frame");
    fails(&mut app, "chatter.wasm", &["chatter.wasm", "chatter::attack1", &cause, "max_message_bytes_per_frame"]);
    let mut cursor = 0;
    let sent = app.world_mut().resource_mut::<ModMessages>().read::<HostilePing>(&mut cursor);
    assert!(sent.len() * 4 <= budget, "{} records got through", sent.len());
    game_goes_on(&mut app);
}

// Bad values: descriptors and exports

/// A message record too big to copy around cheaply.
#[test]
fn a_message_record_over_64_kib_is_refused_at_start() {
    let descriptor = r#"(name: "bloat", version: "1.0.0", components: [], systems: [],
        messages: [(name: "hostile::Huge", size: 65552, align: 16)])"#;
    let (_dir, mut app) = game(&[("bloat.wasm", Wat::new(descriptor, "(i32.const 0)").build())]);
    fails(&mut app, "bloat.wasm", &["bloat.wasm", "hostile::Huge", "invalid layout: size 65552"]);
    game_goes_on(&mut app);
}

/// A component too big to copy around cheaply.
#[test]
fn a_component_over_64_kib_is_refused_at_start() {
    let descriptor = r#"(name: "bloat", version: "1.0.0", messages: [], systems: [],
        components: [(name: "hostile::Huge", size: 65540, align: 4)])"#;
    let (_dir, mut app) = game(&[("bloat.wasm", Wat::new(descriptor, "(i32.const 0)").build())]);
    fails(&mut app, "bloat.wasm", &["bloat.wasm", "hostile::Huge", "65540 bytes", "65536"]);
    game_goes_on(&mut app);
}

/// A descriptor nested 20,000 levels deep (to overflow the host's stack while it parses).
#[test]
fn a_descriptor_nested_without_end_does_not_overflow_the_host_stack() {
    let depth = 20_000;
    let open = r#"(name:"a",offset:0,ty:Struct(["#;
    let descriptor = format!(
        r#"(name:"matryoshka",version:"1.0.0",messages:[],systems:[],
            components:[(name:"hostile::Deep",size:4,align:4,fields:Some([{}{}]))])"#,
        open.repeat(depth),
        "]))".repeat(depth)
    );
    let (_dir, mut app) = game(&[("matryoshka.wasm", big_descriptor_mod(&descriptor, "(i32.const 0)"))]);
    fails(&mut app, "matryoshka.wasm", &["matryoshka.wasm", "descriptor does not parse", "recursion limit"]);
    game_goes_on(&mut app);
}

/// `mod_init` handing back a descriptor past the end of its memory.
#[test]
fn a_descriptor_pointer_outside_memory_fails_the_mod_at_start() {
    let wasm = Wat::new(&descriptor("liar", ""), "(i32.const 0)").init("(i64.const 0x00001000fffff000)").build();
    let (_dir, mut app) = game(&[("liar.wasm", wasm)]);
    fails(&mut app, "liar.wasm", &["liar.wasm", "mod_init returned 4096 bytes at 0xfffff000", "outside"]);
    game_goes_on(&mut app);
}

/// `mod_alloc` handing the host a frame buffer past the end of memory (to make it write out of bounds).
#[test]
fn a_mod_alloc_returning_memory_it_does_not_have_fails_the_mod() {
    let wasm = Wat::new(&descriptor("squatter", ""), "(i32.const 0)").alloc("(i32.const 0xfff00000)").build();
    let (_dir, mut app) = game(&[("squatter.wasm", wasm)]);
    let parts = ["squatter.wasm", "squatter::attack", "mod_alloc returned 0xfff00000", "outside memory or misaligned"];
    fails(&mut app, "squatter.wasm", &parts);
    game_goes_on(&mut app);
}

/// A mod overwriting its whole frame (headers, offsets, ids, columns) with
/// 0xFF: what it only reads must not change, and the host must not follow
/// the forged offsets.
#[test]
fn a_mod_scribbling_over_its_whole_frame_changes_nothing_it_only_reads() {
    let descriptor = r#"(name: "scribbler", version: "1.0.0", messages: [],
        components: [(name: "rocks_api::Transform2d", size: 16, align: 4)],
        systems: [(name: "scribbler::attack", schedule: Update,
                   params: [Query(terms: [(component: 0, access: Read)])])])"#;
    let run = "(memory.fill (local.get $frame) (i32.const 0xff)
                 (i32.add (i32.load offset=128 (local.get $frame)) (i32.load offset=132 (local.get $frame))))
               (i32.const 0)";
    let (_dir, mut app) = game(&[("scribbler.wasm", Wat::new(descriptor, run).build())]);
    let still = app.world_mut().spawn(Transform2d::from_xy(5.0, 5.0)).id();
    game_goes_on(&mut app);
    assert_eq!(app.world().get::<Transform2d>(still).unwrap().translation, Vec2::new(5.0, 5.0));
    assert_eq!(status(&app, "scribbler.wasm"), ModStatus::Running);
}

// Ambient authority (a WASI import is refused in failures.rs)

/// A mod importing the host's `log` with another signature (to confuse the host's calling convention).
#[test]
fn a_mod_importing_a_host_function_with_another_signature_is_refused() {
    let wasm = Wat::new(&descriptor("mimic", ""), "(i32.const 0)")
        .import(r#"(import "bevy_mod" "log" (func (param i64 f64) (result i32)))"#)
        .build();
    let (_dir, mut app) = game(&[("mimic.wasm", wasm)]);
    fails(&mut app, "mimic.wasm", &["mimic.wasm", "bevy_mod", "log"]);
    game_goes_on(&mut app);
}

// Log flood

/// A mod calling `log` 100,000 times per run, with a string range outside its
/// memory (to flood the host's log and make it read out of bounds).
#[test]
fn a_mod_flooding_the_log_keeps_running_and_the_game_goes_on() {
    let run = "(local.set $i (i32.const 100000))
               (loop $l
                 (call $log (i32.const 1) (i32.const 0xffffff00) (i32.const 0x7fffffff))
                 (local.set $i (i32.sub (local.get $i) (i32.const 1)))
                 (br_if $l (local.get $i)))
               (i32.const 0)";
    let wasm = Wat::new(&descriptor("loud", ""), run)
        .import(r#"(import "bevy_mod" "log" (func $log (param i32 i32 i32)))"#)
        .build();
    // The flood is about the log, not the CPU: a generous deadline keeps a
    // slow machine from stopping the mod for time instead.
    let limits = ModLimits { call_deadline_ms: 2000, ..Default::default() };
    let (_dir, mut app) = game_with(&[("loud.wasm", wasm)], limits, |_, _| {});
    game_goes_on(&mut app);
    assert_eq!(status(&app, "loud.wasm"), ModStatus::Running);
}

// Known host problems: reproductions, ignored until the host is fixed.

/// A descriptor whose systems order themselves in a long chain (each after
/// the next): the host sorts them on the main thread, outside any deadline,
/// so the sort must be linear (it was cubic: 3,000 systems took seconds).
#[test]
fn a_descriptor_ordering_thousands_of_systems_does_not_freeze_the_game() {
    let n = 3_000;
    let systems: Vec<String> = (0..n)
        .map(|i| {
            let after = if i + 1 < n { format!(r#"after:["s{}"]"#, i + 1) } else { String::new() };
            format!(r#"(name:"s{i}",schedule:Update,params:[],{after})"#)
        })
        .collect();
    let descriptor =
        format!(r#"(name:"knot",version:"1.0.0",components:[],messages:[],systems:[{}])"#, systems.join(","));
    let (_dir, mut app) = game(&[("knot.wasm", big_descriptor_mod(&descriptor, "(i32.const 0)"))]);
    assert_eq!(status(&app, "knot.wasm"), ModStatus::Running);
    game_goes_on(&mut app);
}

/// Many systems, each spinning a little under the per-call deadline: no
/// single call is stopped, but together they would take a second a frame.
/// The mod's systems share a budget per schedule run (`schedule_budget_ms`).
#[test]
fn a_mod_with_many_systems_each_just_under_the_deadline_is_stopped() {
    let n = 1000;
    let systems: Vec<String> = (0..n).map(|i| format!(r#"(name:"s{i}",schedule:Update,params:[])"#)).collect();
    let descriptor =
        format!(r#"(name:"hog",version:"1.0.0",components:[],messages:[],systems:[{}])"#, systems.join(","));
    // About 1 ms per call here: 1,000 calls a frame. A per-call deadline far
    // above that keeps any machine, however slow or loaded, from stopping a
    // single call instead: only the shared budget can stop the mod.
    let spin = "(local.set $i (i32.const 2000000))
               (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
               (i32.const 0)";
    let limits = ModLimits { call_deadline_ms: 1_000, ..Default::default() };
    let (_dir, mut app) = game_with(&[("hog.wasm", big_descriptor_mod(&descriptor, spin))], limits, |_, _| {});
    run(&mut app, 3);
    assert_failed(&app, "hog.wasm", &["hog.wasm", "shared budget of 20 ms", "schedule_budget_ms"]);
    game_goes_on(&mut app);
}

/// A headless run (as CI or a server runs the game) with a hostile mod: the
/// run completes and its report names the culprit and the cause, beside
/// the good mod still running.
#[test]
fn a_headless_run_reports_the_stopped_mod_and_finishes() {
    let wasm = Wat::new(&descriptor("spinner", ""), "(loop $l (br $l)) (i32.const 0)").build();
    let dir = mod_dir(&["mover"]);
    std::fs::write(dir.path().join("spinner.wasm"), wasm).unwrap();
    let out = TempDir::new();
    let report_path = out.path().join("report.ron");
    let config = GameConfig { frames: Some(30), report: Some(report_path.clone()), ..headless_config(dir.path()) };
    build_app(&config).run();
    let report: rocks_game::headless::Report =
        ron::from_str(&std::fs::read_to_string(&report_path).expect("the run wrote its report")).unwrap();
    assert_eq!(report.frames, 30, "{report:?}");
    let spinner = report.mods.iter().find(|m| m.file == "spinner.wasm").expect("the report lists the spinner");
    let ModStatus::Failed(error) = &spinner.status else { panic!("the spinner should have failed: {spinner:?}") };
    assert!(error.contains("spinner::attack") && error.contains("deadline of 10 ms"), "{error}");
    let mover = report.mods.iter().find(|m| m.file == "mover.wasm").expect("the report lists mover");
    assert_eq!(mover.status, ModStatus::Running);
}

// What a mod keeps: counted against that mod alone (ModLimits, ModUsage)

/// A mod whose one system spawns `per_run` entities each run, each with one
/// `component` of `size` bytes (local id 0).
fn spawner(name: &str, component: &str, size: u32, per_run: usize) -> Vec<u8> {
    let descriptor = format!(
        r#"(name: "{name}", version: "1.0.0", messages: [],
            components: [(name: "{component}", size: {size}, align: 4)],
            systems: [(name: "{name}::attack", schedule: Update, params: [Commands])])"#
    );
    let mut stream = Vec::new();
    for n in 0..per_run {
        stream.extend(words(&[2, 1, 0]));
        stream.extend(std::iter::repeat_n(n as u8, size as usize));
    }
    Wat::new(&descriptor, &format!("{} (i32.const 0)", out(0, SCRATCH, stream.len() as u32)))
        .data(SCRATCH, stream)
        .build()
}

/// Despawns every entity with the mod component named `name`.
fn despawn_all(app: &mut App, name: &str) {
    let c = app.world().resource::<ModComponents>().get(name).expect("registered").id;
    let world = app.world_mut();
    let mut q = QueryBuilder::<Entity>::new(world).with_id(c).build();
    let doomed: Vec<Entity> = q.iter(world).collect();
    for e in doomed {
        world.despawn(e);
    }
}

/// A mod adding large components every frame, each run within every
/// per-run quota (which drove the game past 6 GB): stopped at its own limit
/// of component bytes, and what it put in the world stays within it.
#[test]
fn a_mod_hoarding_component_data_stops_at_its_byte_limit_and_what_it_kept_stays_bounded() {
    let limits = ModLimits { max_component_bytes_per_mod: 256 << 10, ..Default::default() };
    let hoarder = spawner("hoarder", "hostile::Slab", 1024, 64);
    let (_dir, mut app) = game_with(&[("hoarder.wasm", hoarder)], limits, |_, _| {});
    let parts = ["hoarder.wasm", "hoarder::attack", "bytes of components", "(max_component_bytes_per_mod)"];
    fails(&mut app, "hoarder.wasm", &parts);
    // Four runs of 64 KiB fill the 256 KiB; the fifth is refused whole.
    assert_eq!(with_component(&mut app, "hostile::Slab"), 256);
    assert_eq!(app.world().resource::<ModUsage>().of("hoarder.wasm").component_bytes, 256 << 10);
    game_goes_on(&mut app);
}

/// Entities a mod spawned count against it while they are in the world:
/// when the game despawns them the mod may spawn more; when it keeps them,
/// the mod is stopped at its limit.
#[test]
fn entities_a_mod_spawned_count_against_it_until_they_leave_the_world() {
    let limits = ModLimits { max_entities_per_mod: 100, ..Default::default() };
    let breeder = spawner("breeder", "hostile::Thing", 4, 40);
    let (_dir, mut app) = game_with(&[("breeder.wasm", breeder)], limits, |_, _| {});
    for _ in 0..20 {
        app.update();
        despawn_all(&mut app, "hostile::Thing");
    }
    assert_eq!(status(&app, "breeder.wasm"), ModStatus::Running, "800 spawned, never more than 40 kept");
    fails(&mut app, "breeder.wasm", &["breeder.wasm", "would keep 120 entities", "100 (max_entities_per_mod)"]);
    assert_eq!(with_component(&mut app, "hostile::Thing"), 80);
    assert_eq!(app.world().resource::<ModUsage>().of("breeder.wasm").entities, 80);
    game_goes_on(&mut app);
}

/// A world made large by the game (or by other mods) is no reason to stop
/// a mod whose query matches it: its deadline grows with its frame.
#[test]
fn a_mod_matching_a_large_world_keeps_running() {
    let (_dir, mut app) = game(&[]);
    let n = 400_000;
    app.world_mut().spawn_batch((0..n).map(|_| (Transform2d::default(), Velocity(Vec2::X))));
    run(&mut app, 5);
    assert_eq!(status(&app, "mover.wasm"), ModStatus::Running);
    game_goes_on(&mut app);
}

// Work without bound from a valid descriptor

/// A mod declaring more systems than a descriptor may hold.
#[test]
fn a_descriptor_with_too_many_systems_is_refused_at_start() {
    let systems: Vec<String> = (0..5000).map(|i| format!(r#"(name:"s{i}",schedule:Update,params:[])"#)).collect();
    let descriptor =
        format!(r#"(name:"swarm",version:"1.0.0",components:[],messages:[],systems:[{}])"#, systems.join(","));
    let (_dir, mut app) = game(&[("legion.wasm", big_descriptor_mod(&descriptor, "(i32.const 0)"))]);
    fails(&mut app, "legion.wasm", &["legion.wasm", "declares 5000 systems; the limit is 4096"]);
    game_goes_on(&mut app);
}

/// Nested arrays of zero-sized structs describe billions of values in no
/// bytes: saving the game with such a component once allocated past 6 GB.
#[test]
fn a_field_list_describing_values_without_bytes_is_refused_at_start() {
    let zero = "Array(of: Struct([]), len: 65536, stride: 0)";
    let descriptor = format!(
        r#"(name: "void", version: "1.0.0", messages: [], systems: [],
            components: [(name: "hostile::Void", size: 4, align: 4,
                          fields: Some([(name: "a", offset: 0, ty: Array(of: {zero}, len: 65536, stride: 0))]))])"#
    );
    let (_dir, mut app) = game(&[("void.wasm", big_descriptor_mod(&descriptor, "(i32.const 0)"))]);
    fails(&mut app, "void.wasm", &["void.wasm", "hostile::Void", "values", "the limit for 4 bytes is 272"]);
    game_goes_on(&mut app);
}

// Small holes

/// A name with a newline would print as two lines in the host's log, the
/// second one of the mod's choosing.
#[test]
fn a_name_with_control_characters_is_refused_at_start() {
    let descriptor = descriptor("forger", "").replace("forger::attack", "forger::attack\\nERROR mod mover.wasm failed");
    let (_dir, mut app) = game(&[("forger.wasm", Wat::new(&descriptor, "(i32.const 0)").build())]);
    let error = fails(&mut app, "forger.wasm", &["forger.wasm", "holds control characters"]);
    assert!(!error.contains('\n'), "{error}");
    game_goes_on(&mut app);
}

/// What a mod panics (or logs) with is escaped: it stays one line.
#[test]
fn a_panic_message_with_newlines_stays_on_one_line() {
    let text = "boom\nERROR mod mover.wasm failed: forged";
    let wasm = Wat::new(
        &descriptor("liar", ""),
        &format!("(call $panic (i32.const {SCRATCH}) (i32.const {})) unreachable", text.len()),
    )
    .import(r#"(import "bevy_mod" "panic" (func $panic (param i32 i32)))"#)
    .data(SCRATCH, text.as_bytes().to_vec())
    .build();
    let (_dir, mut app) = game(&[("liar.wasm", wasm)]);
    let error = fails(&mut app, "liar.wasm", &["liar.wasm", "panicked: boom\\nERROR mod mover.wasm"]);
    assert!(!error.contains('\n'), "{error}");
    game_goes_on(&mut app);
}

/// The ABI's pointers are 32-bit; a 64-bit memory would be read wrongly.
#[test]
fn a_64_bit_memory_is_refused_at_load() {
    let wasm = wat::parse_str(
        r#"(module (@custom "bevy_mod_abi" "\01\00\00\00")
            (memory (export "memory") i64 1)
            (func (export "mod_alloc") (param i32 i32) (result i32) i32.const 0)
            (func (export "mod_init") (result i64) i64.const 0)
            (func (export "mod_run") (param i32 i32) (result i32) i32.const 0))"#,
    )
    .unwrap();
    let (_dir, mut app) = game(&[("wide.wasm", wasm)]);
    fails(&mut app, "wide.wasm", &["wide.wasm", "its memory is 64-bit", "32-bit memory"]);
    game_goes_on(&mut app);
}

/// A start function (wasm's `start`, run while the module is instantiated)
/// that never returns gets the documented deadline error.
#[test]
fn an_endless_start_function_is_stopped_at_the_init_deadline() {
    let wasm = Wat::new(&descriptor("sloth", ""), "(i32.const 0)")
        .extra("(func $forever (loop $l (br $l))) (start $forever)")
        .build();
    let limits = ModLimits { init_deadline_ms: 50, ..Default::default() };
    let (_dir, mut app) = game_with(&[("sloth.wasm", wasm)], limits, |_, _| {});
    let parts = ["sloth.wasm", "its start function", "deadline of 50 ms", "(init_deadline_ms)"];
    fails(&mut app, "sloth.wasm", &parts);
    game_goes_on(&mut app);
}

/// A mod handing over more state than the limit: the save names it.
#[test]
fn state_beyond_max_state_bytes_is_refused() {
    let wasm = Wat::new(&descriptor("glutton", ""), "(i32.const 0)")
        .extra(&format!(r#"(func (export "mod_save_state") (result i64) (i64.const {}))"#, (4096u64 << 32) | 16))
        .build();
    let limits = ModLimits { max_state_bytes: 1024, ..Default::default() };
    let (_dir, mut app) = game_with(&[("glutton.wasm", wasm)], limits, |_, _| {});
    let error = engine::runtime::save::save_game(app.world_mut()).expect_err("the state is over the limit");
    assert!(
        error.contains("glutton") && error.contains("4096 bytes of state; the limit is 1024 (max_state_bytes)"),
        "{error}"
    );
    game_goes_on(&mut app);
}

/// A mod flooding the world with entities every other mod's queries match
/// (`mover` matches them all): the flood stops at the flooder's own limit,
/// and the mod that matched the flood runs on (it once died of the flood's
/// frame size).
#[test]
fn a_flood_of_entities_stops_at_the_flooders_limit_and_the_mods_matching_it_run_on() {
    let descriptor = r#"(name: "flood", version: "1.0.0", messages: [],
        components: [(name: "rocks_api::Transform2d", size: 16, align: 4),
                     (name: "rocks_api::Velocity", size: 8, align: 4)],
        systems: [(name: "flood::attack", schedule: Update, params: [Commands])])"#;
    let per_run = 10_000;
    let mut stream = Vec::new();
    for _ in 0..per_run {
        stream.extend(words(&[2, 2, 0, 0, 0, 0, 0x3f80_0000, 1, 0x3f80_0000, 0]));
    }
    let flood = Wat::new(descriptor, &format!("{} (i32.const 0)", out(0, SCRATCH, stream.len() as u32)))
        .data(SCRATCH, stream)
        .build();
    let limits = ModLimits { max_entities_per_mod: 60_000, ..Default::default() };
    let (_dir, mut app) = game_with(&[("flood.wasm", flood)], limits, |_, _| {});
    fails(&mut app, "flood.wasm", &["flood.wasm", "flood::attack", "the limit is 60000 (max_entities_per_mod)"]);
    assert_eq!(app.world().resource::<ModUsage>().of("flood.wasm").entities, 60_000);
    game_goes_on(&mut app);
}

/// A mod sending more commands in one run than the host will apply.
#[test]
fn commands_beyond_max_commands_per_run_fail_the_mod() {
    let stream: Vec<u8> = (0..51).flat_map(spawn_thing).collect();
    let limits = ModLimits { max_commands_per_run: 50, ..Default::default() };
    let (_dir, mut app) = game_with(&[("chatty.wasm", commands_mod("chatty", &stream))], limits, |_, _| {});
    fails(&mut app, "chatty.wasm", &["chatty.wasm", "more than 50 commands in one run", "max_commands_per_run"]);
    assert_eq!(with_component(&mut app, "hostile::Thing"), 0, "nothing of the run was applied");
    game_goes_on(&mut app);
}

/// Every set of components entities have is an archetype, which Bevy never
/// frees: a mod spawning entities with ever new sets is stopped at its
/// limit.
#[test]
fn a_mod_creating_archetypes_without_end_stops_at_its_limit() {
    let components: Vec<String> = (0..6).map(|k| format!(r#"(name: "hostile::A{k}", size: 4, align: 4)"#)).collect();
    let descriptor = format!(
        r#"(name: "shaper", version: "1.0.0", messages: [], components: [{}],
            systems: [(name: "shaper::attack", schedule: Update, params: [Commands])])"#,
        components.join(", ")
    );
    // One entity for each of the 63 non-empty sets of the 6 components.
    let mut stream = Vec::new();
    for set in 1u32..64 {
        let members: Vec<u32> = (0..6).filter(|k| set & (1 << k) != 0).collect();
        stream.extend(words(&[2, members.len() as u32]));
        for k in members {
            stream.extend(words(&[k, set]));
        }
    }
    let wasm = Wat::new(&descriptor, &format!("{} (i32.const 0)", out(0, SCRATCH, stream.len() as u32)))
        .data(SCRATCH, stream)
        .build();
    let limits = ModLimits { max_archetypes_per_mod: 40, ..Default::default() };
    let (_dir, mut app) = game_with(&[("shaper.wasm", wasm)], limits, |_, _| {});
    fails(&mut app, "shaper.wasm", &["shaper.wasm", "shaper::attack", "the limit is 40 (max_archetypes_per_mod)"]);
    let created = app.world().resource::<ModUsage>().of("shaper.wasm").archetypes;
    assert!((40..=63).contains(&created), "at most the limit plus one run's: {created}");
    game_goes_on(&mut app);
}

/// What leaves the world while no mod runs (Bevy keeps its records of
/// removals for two frames only) no longer counts when the mod runs again.
#[test]
fn what_leaves_the_world_while_a_mod_is_disabled_no_longer_counts() {
    let limits = ModLimits { max_entities_per_mod: 100, ..Default::default() };
    let (_dir, mut app) =
        game_with(&[("breeder.wasm", spawner("breeder", "hostile::Thing", 4, 40))], limits, |_, _| {});
    let kept = |app: &App| app.world().resource::<ModUsage>().of("breeder.wasm").entities;
    until(&mut app, "the breeder kept 40 entities", |app| kept(app) >= 40);
    for file in ["breeder.wasm", "mover.wasm"] {
        app.world_mut().write_message(engine::runtime::ModControl::Disable(file.into()));
    }
    app.update();
    let before = kept(&app);
    despawn_all(&mut app, "hostile::Thing");
    run(&mut app, 10);
    assert_eq!((before, kept(&app)), (40, 0), "the despawns were counted while no mod ran");
    app.world_mut().write_message(engine::runtime::ModControl::Enable("breeder.wasm".into()));
    run(&mut app, 2);
    assert_eq!(status(&app, "breeder.wasm"), ModStatus::Running);
    assert_eq!(kept(&app), 80);
}
