//! A mod reloaded 200 times while the game runs: its counter is intact after
//! every swap, and the process's memory does not grow. In a test binary of
//! its own so no other test shares the process while memory is measured.

use engine::bevy::prelude::*;
use engine::runtime::{CompileCache, ModControl, ModFrameInput};
use rocks_game::GameConfig;
use tests::*;

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Checks every value of one frame continues the count, and that the count
/// is the number of frames mods have run: no frame skipped or run twice.
fn frame(app: &mut App, cursor: &mut u64, last: &mut u64, n: u32) {
    for value in counter_frame(app, cursor) {
        assert_eq!(value.count, *last + 1, "reload {n}: the count continues");
        *last = value.count;
    }
    let frame = app.world().resource::<ModFrameInput>().header.frame;
    assert_eq!(*last, frame, "reload {n}: one count per frame");
}

/// Asks for a reload of the counter and runs frames until it is swapped in.
fn reload_once(app: &mut App, n: u32, cursor: &mut u64, last: &mut u64) {
    app.world_mut().write_message(ModControl::Reload("counter.wasm".into()));
    let t = std::time::Instant::now();
    while entry(app, "counter.wasm").reloads < n {
        assert!(t.elapsed() < HANG_GUARD, "reload {n} did not happen within {HANG_GUARD:?}");
        frame(app, cursor, last, n);
    }
    frame(app, cursor, last, n);
}

#[test]
fn two_hundred_reloads_keep_the_state_and_the_memory_flat() {
    let dir = mod_dir(&["counter"]);
    // Every reload compiles (as a new version would), not a cache hit.
    let config = GameConfig { compile_cache: CompileCache::Off, ..headless_config(dir.path()) };
    let mut app = start(&config);
    let (mut cursor, mut last) = (0, 0);
    for value in counter_frame(&mut app, &mut cursor) {
        last = value.count;
    }
    // Warm up allocators and caches before the baseline.
    for n in 1..=20 {
        reload_once(&mut app, n, &mut cursor, &mut last);
    }
    let baseline = rss();
    for n in 21..=200 {
        reload_once(&mut app, n, &mut cursor, &mut last);
    }
    let grown = rss().saturating_sub(baseline);
    eprintln!("RSS after 20 reloads: {} MiB; grew {} KiB over 180 more", baseline >> 20, grown >> 10);
    assert!(grown < 32 << 20, "memory grew {} MiB over 180 reloads", grown >> 20);
}
