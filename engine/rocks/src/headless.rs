//! Headless runs (tests, tools, CI) and the RON report.
//!
//! `--headless --frames N` runs the same game without a window or GPU, at a
//! fixed 1/60 s step, for N frames counted from the moment every mod has
//! started (or failed), so runs are reproducible however long compiling takes.

use super::{GameConfig, Scoreboard};
use bevy::app::{AppExit, ScheduleRunnerPlugin};
use bevy::input::InputPlugin;
use bevy::input::keyboard::KeyCode as BevyKey;
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use engine::runtime::{ModRegistry, ModStatus};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The fixed step of headless runs.
pub const STEP: Duration = Duration::from_nanos(16_666_667);

/// How long a headless run waits for its mods to compile and start.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Scripted keyboard input, as RON:
///
/// ```ron
/// InputScript(events: [
///     (frame: 10, key: "ArrowUp", pressed: true),
///     (frame: 40, key: "ArrowUp", pressed: false),
/// ])
/// ```
/// `frame` counts from 1, the first frame after the mods started; `key` is a
/// Bevy `KeyCode` name among those mods can read (`mod_api::KeyCode`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InputScript {
    pub events: Vec<InputEvent>,
}

/// One key going down or up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputEvent {
    pub frame: u64,
    pub key: String,
    pub pressed: bool,
}

impl InputScript {
    /// Parses a script; errors name the file, the position and the bad key.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read input script {}: {e}", path.display()))?;
        let script: InputScript = ron::from_str(&text).map_err(|e| format!("input script {}: {e}", path.display()))?;
        for ev in &script.events {
            if key_by_name(&ev.key).is_none() {
                return Err(format!(
                    "input script {}: unknown key {:?} at frame {}; keys are Bevy KeyCode names like \"KeyA\", \"ArrowUp\", \"Space\", \"Enter\"",
                    path.display(),
                    ev.key,
                    ev.frame
                ));
            }
        }
        Ok(script)
    }
}

/// A key mods can read, by its Bevy `KeyCode` name (`"KeyA"`, `"ArrowUp"`).
fn key_by_name(name: &str) -> Option<BevyKey> {
    engine::runtime::KEYS.iter().copied().find(|k| format!("{k:?}") == name)
}

/// What a run leaves behind: each mod's fate and the game's numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Frames run since the mods started.
    pub frames: u64,
    pub mods: Vec<ModReport>,
    pub score: u32,
    pub lives: u32,
    pub wave: u32,
    pub game_over: bool,
    /// Game entities (those with a `Transform2d`) at exit.
    pub entities: usize,
    /// Save games that could not be written or loaded.
    #[serde(default)]
    pub save_errors: Vec<String>,
}

/// One mod in the [`Report`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModReport {
    pub file: String,
    pub name: String,
    pub version: String,
    pub status: ModStatus,
    /// Times a changed file replaced the running version.
    #[serde(default)]
    pub reloads: u32,
    /// The last reload that failed (the previous version kept running).
    #[serde(default)]
    pub last_error: Option<String>,
    /// The mod's saved state at exit (`--report-state`), as the mod writes
    /// it: its saved resources by type and field, inline RON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<ron::value::RawValue>>,
}

/// Frames run since every mod settled.
#[derive(Resource, Default, Debug)]
pub struct RunFrames {
    pub ran: u64,
    pub target: Option<u64>,
    started: Option<Instant>,
}

#[derive(Resource)]
struct Script(InputScript);

/// Minimal plugins, fixed time step, scripted input, frame limit.
pub fn add_headless_plugins(app: &mut App, config: &GameConfig) {
    if config.log {
        app.add_plugins(LogPlugin::default());
    }
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::ZERO)),
        AssetPlugin {
            file_path: super::absolute(std::path::Path::new("assets")).to_string_lossy().into_owned(),
            ..default()
        },
        InputPlugin,
    ))
    .insert_resource(RunFrames { target: config.frames, ..default() });
    add_fixed_step_and_script(app, config);
}

/// Fixed 1/60 s steps, frame counting and the input script (headless runs,
/// and windowed runs that take a screenshot, so they play out the same).
pub fn add_fixed_step_and_script(app: &mut App, config: &GameConfig) {
    app.init_resource::<RunFrames>()
        .insert_resource(TimeUpdateStrategy::ManualDuration(STEP))
        .insert_resource(Time::<Fixed>::from_duration(STEP))
        .add_systems(
            PreUpdate,
            (
                count_frames.after(engine::runtime::ModSystems::Activate),
                play_script.after(bevy::input::InputSystems).before(engine::runtime::ModSystems::Input),
            )
                .chain(),
        );
    if let Some(path) = &config.input {
        match InputScript::load(path) {
            Ok(script) => {
                app.insert_resource(Script(script));
            }
            Err(e) => {
                // The run goes on without input; the error is in the log.
                error!("{e}");
            }
        }
    }
}

/// Counts the frames since the mods first settled. The frame that reaches
/// the target asks to exit; Bevy finishes that frame (the mods' `Update`
/// runs in it), so a run of `--frames N` runs N frames of mod systems.
fn count_frames(registry: Res<ModRegistry>, mut frames: ResMut<RunFrames>, mut exit: MessageWriter<AppExit>) {
    let started = *frames.started.get_or_insert_with(Instant::now);
    // Once counting, a mod added while the game runs (still compiling) does
    // not stop the count: the mods' own frame counter goes on too.
    if frames.ran > 0 || registry.settled() {
        frames.ran += 1;
        if frames.target.is_some_and(|t| frames.ran >= t) {
            exit.write(AppExit::Success);
        }
    } else if started.elapsed() > LOAD_TIMEOUT {
        error!("mods did not finish loading within {LOAD_TIMEOUT:?}; stopping");
        exit.write(AppExit::from_code(2));
    }
}

fn play_script(script: Option<Res<Script>>, frames: Res<RunFrames>, mut keys: ResMut<ButtonInput<BevyKey>>) {
    let Some(script) = script else { return };
    for ev in script.0.events.iter().filter(|e| e.frame == frames.ran) {
        let Some(key) = key_by_name(&ev.key) else { continue };
        if ev.pressed {
            keys.press(key);
        } else {
            keys.release(key);
        }
    }
}

/// The report of the world as it is now, with the saved state of the mods
/// named in `state_of` (by id or file; `all` for every mod).
pub fn report_with_state(world: &mut World, state_of: &[String]) -> Report {
    let mut report = report(world);
    if state_of.is_empty() {
        return report;
    }
    let all = state_of.iter().any(|m| m == "all");
    let mut registry = world.resource_mut::<ModRegistry>();
    for (entry, out) in registry.mods.iter_mut().zip(&mut report.mods) {
        if !all && !state_of.iter().any(|m| *m == entry.name || *m == entry.file) {
            continue;
        }
        let state = entry.saved_state().map_err(|e| e.to_string()).and_then(|text| {
            text.map(|t| ron::value::RawValue::from_boxed_ron(t.into_boxed_str()).map_err(|e| e.to_string()))
                .transpose()
        });
        match state {
            Ok(state) => out.state = state,
            Err(e) => error!("report: the state of mod {} could not be read: {e}", entry.file),
        }
    }
    for name in state_of.iter().filter(|m| *m != "all") {
        if !report.mods.iter().any(|m| m.name == *name || m.file == *name) {
            error!("report: --report-state {name}: no such mod");
        }
    }
    report
}

/// The report of the world as it is now.
pub fn report(world: &mut World) -> Report {
    let entities = world.query::<&rocks_api::Transform2d>().iter(world).count();
    let board = *world.resource::<Scoreboard>();
    let frames = world.get_resource::<RunFrames>().map_or(0, |f| f.ran.min(f.target.unwrap_or(u64::MAX)));
    let mods = world
        .resource::<ModRegistry>()
        .mods
        .iter()
        .map(|m| ModReport {
            file: m.file.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            status: m.status(),
            reloads: m.reloads,
            last_error: m.last_error.clone(),
            state: None,
        })
        .collect();
    Report {
        frames,
        mods,
        score: board.score,
        lives: board.lives,
        wave: board.wave,
        game_over: board.game_over,
        entities,
        save_errors: world.get_resource::<super::saves::SaveLog>().map(|l| l.errors.clone()).unwrap_or_default(),
    }
}

#[derive(Resource)]
struct ReportPath(PathBuf, Vec<String>);

/// Writes the report when the app exits, with the saved state of the mods
/// named in `state_of`.
pub fn add_report(app: &mut App, path: PathBuf, state_of: Vec<String>) {
    app.insert_resource(ReportPath(path, state_of))
        .add_systems(Last, write_report_on_exit.after(super::saves::save_on_exit));
}

fn write_report_on_exit(world: &mut World) {
    let exiting = !world.resource::<Messages<AppExit>>().is_empty();
    if !exiting {
        return;
    }
    let (path, state_of) = {
        let p = world.resource::<ReportPath>();
        (p.0.clone(), p.1.clone())
    };
    let report = report_with_state(world, &state_of);
    let text = ron::ser::to_string_pretty(&report, ron::ser::PrettyConfig::default()).expect("reports serialize");
    match std::fs::write(&path, text) {
        Ok(()) => info!("report written to {}", path.display()),
        Err(e) => error!("cannot write the report to {}: {e}", path.display()),
    }
}

/// Windowed: saves a screenshot at `frame` (counted from the mods' start), then exits.
pub fn add_screenshot(app: &mut App, config: &GameConfig, path: PathBuf, frame: u64) {
    add_fixed_step_and_script(app, config);
    app.insert_resource(ScreenshotAt(path, frame, false)).add_systems(Update, take_screenshot);
}

#[derive(Resource)]
struct ScreenshotAt(PathBuf, u64, bool);

fn take_screenshot(
    mut commands: Commands,
    mut at: ResMut<ScreenshotAt>,
    frames: Res<RunFrames>,
    mut exit: MessageWriter<AppExit>,
) {
    use bevy::render::view::screenshot::{Screenshot, save_to_disk};
    if frames.ran == at.1 && !at.2 {
        at.2 = true;
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(at.0.clone()));
    }
    if frames.ran == at.1 + 30 {
        exit.write(AppExit::Success);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str) -> Result<InputScript, String> {
        // A file of its own per call: tests run in parallel threads.
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("script-{}-{n}.ron", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let r = InputScript::load(&path);
        std::fs::remove_file(&path).unwrap();
        r
    }

    #[test]
    fn a_good_script_loads() {
        let s = script(r#"InputScript(events: [(frame: 3, key: "Space", pressed: true)])"#).unwrap();
        assert_eq!(s.events, vec![InputEvent { frame: 3, key: "Space".into(), pressed: true }]);
        assert_eq!(key_by_name("ArrowUp"), Some(BevyKey::ArrowUp));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_frame() {
        let e = script(r#"InputScript(events: [(frame: 9, key: "Spacebar", pressed: true)])"#).unwrap_err();
        assert!(e.contains("script-") && e.contains("\"Spacebar\"") && e.contains("frame 9"), "{e}");
    }

    #[test]
    fn a_syntax_error_names_the_file_and_position() {
        let e = script("InputScript(events: [(frame: 1, key: \"KeyA\" pressed: true)])").unwrap_err();
        assert!(e.contains("script-") && e.contains("1:"), "{e}");
    }
}
