//! A mod reloaded 500 times while the game runs, each reload compiling as a
//! new version would: its counter is intact after every swap, and after a
//! warm-up the process's memory stays flat. In a test binary of its own so
//! no other test shares the process while memory is measured.
//!
//! NOTE: the first hundred or so reloads grow resident memory by about
//! 2 MiB (allocator arenas and caches warming up, measured with the 391 KB
//! `counter`: 78.8 MiB after 70 reloads, 80.7 after 120, then 80.7 to 81.2
//! up to 420, not monotonic); after that, growth is noise (with the 73 KB
//! `counter` of issue 15: 57 MiB after 150, then 84 KiB more over 350).
//! The bound below is a constant, not per reload: a leak of even 12 KiB per
//! reload would break it.

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
fn five_hundred_reloads_keep_the_state_and_the_memory_flat() {
    let dir = mod_dir(&["counter"]);
    // Every reload compiles (as a new version would), not a cache hit.
    let config = GameConfig { compile_cache: CompileCache::Off, ..headless_config(dir.path()) };
    let mut app = start(&config);
    let (mut cursor, mut last) = (0, 0);
    for value in counter_frame(&mut app, &mut cursor) {
        last = value.count;
    }
    // Warm up allocators and caches before the baseline.
    const WARM_UP: u32 = 150;
    for n in 1..=WARM_UP {
        reload_once(&mut app, n, &mut cursor, &mut last);
    }
    let baseline = rss();
    for n in WARM_UP + 1..=500 {
        reload_once(&mut app, n, &mut cursor, &mut last);
    }
    let grown = rss().saturating_sub(baseline);
    eprintln!(
        "RSS after {WARM_UP} reloads: {} MiB; grew {} KiB over {} more",
        baseline >> 20,
        grown >> 10,
        500 - WARM_UP
    );
    assert!(grown < 4 << 20, "memory grew {} KiB over {} reloads after the warm-up", grown >> 10, 500 - WARM_UP);
}
