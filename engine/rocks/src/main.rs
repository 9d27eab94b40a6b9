//! The demo game: `cargo run --release -p rocks-game` (see the README), or
//! headless: `rocks --headless --frames 600 --input play.ron --report out.ron`.

use clap::Parser;
use engine::runtime::CompileCache;
use rocks_game::{GameConfig, build_app};
use std::path::PathBuf;

/// Rocks: an arcade game whose rules are WebAssembly mods.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Run without a window or GPU, at a fixed 1/60 s time step.
    #[arg(long)]
    headless: bool,
    /// Frames to run once the mods have started, then exit (headless). The
    /// run goes as fast as the machine allows, not in real time: each frame
    /// advances the game's clock by 1/60 s.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    frames: Option<u64>,
    /// Replay scripted keyboard input from this RON file (headless, or with --screenshot).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Load mods from this folder instead of assets/mods.
    #[arg(long, value_name = "DIR", default_value = "assets/mods")]
    mods: PathBuf,
    /// Write a RON report (mods, score, lives, entities) here at exit.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Include this mod's saved state (its `init_saved_resource` values) in
    /// the report; repeat for more mods, or give `all`.
    #[arg(long, value_name = "MOD")]
    report_state: Vec<String>,
    /// Save a screenshot to FILE after --screenshot-frame frames, then exit (windowed).
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
    #[arg(long, value_name = "N", default_value_t = 120)]
    screenshot_frame: u64,
    /// Live editing: rebuild a mod when its source under WORKSPACE/mods changes
    /// (WORKSPACE defaults to the current folder).
    #[arg(long, value_name = "WORKSPACE", num_args = 0..=1, default_missing_value = ".")]
    dev: Option<PathBuf>,
    /// Save game file: F5 saves to it and F9 loads it (default saves/quicksave.ron);
    /// a headless run saves to it when it ends.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Start from this save game once the mods have started.
    #[arg(long, value_name = "FILE")]
    load: Option<PathBuf>,
    /// Seed of the mods' random numbers.
    #[arg(long, default_value_t = 0x5EED)]
    seed: u64,
    /// Where compiled mods are kept between runs (default: MODS/.cache).
    #[arg(long, value_name = "DIR", conflicts_with = "no_compile_cache")]
    compile_cache: Option<PathBuf>,
    /// Compile every mod at every start.
    #[arg(long)]
    no_compile_cache: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.headless && cli.frames.is_none() {
        eprintln!("--headless needs --frames N (how many frames to run)");
        return std::process::ExitCode::from(2);
    }
    let config = GameConfig {
        mods_dir: cli.mods,
        headless: cli.headless,
        frames: cli.frames,
        input: cli.input,
        report: cli.report,
        report_state: cli.report_state,
        screenshot: cli.screenshot.map(|p| (p, cli.screenshot_frame)),
        seed: cli.seed,
        dev: cli.dev,
        log: true,
        save: cli.save,
        load: cli.load,
        limits: Default::default(),
        compile_cache: match (cli.compile_cache, cli.no_compile_cache) {
            (_, true) => CompileCache::Off,
            (Some(dir), false) => CompileCache::At(dir),
            (None, false) => CompileCache::InModsDir,
        },
    };
    match build_app(&config).run() {
        bevy::app::AppExit::Success => std::process::ExitCode::SUCCESS,
        bevy::app::AppExit::Error(code) => std::process::ExitCode::from(code.get()),
    }
}
