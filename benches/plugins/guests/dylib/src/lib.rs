//! The plugins benchmark's dynamic library: the workloads behind a small C
//! ABI, loaded by the host with libloading (`benches/plugins/src/dylib.rs`).
//!
//! The host hands over pointers to its own columns and message slices; the
//! library works on them in place with the shared workload code, so no byte
//! is copied or encoded at the boundary. Its state (the boids scratch and the
//! `frames` counter) lives behind an opaque pointer that only this library
//! creates, uses and frees.
//!
//! The library keeps no thread-local variables with destructors and no
//! global state, so the dynamic loader can really unmap it when the host
//! closes it (see the host's `unloads`).

use plugin_workload::{Boids, Ping, Pong, V2};

/// The ABI version the host checks before anything else. Bump it on any
/// change of a signature below.
pub const ABI_VERSION: u32 = 1;

/// The plugin's state, opaque to the host.
pub struct State {
    boids: Boids,
    frames: u64,
}

/// The version of this ABI ([`ABI_VERSION`]).
#[unsafe(no_mangle)]
pub extern "C" fn bench_abi_version() -> u32 {
    ABI_VERSION
}

/// A new state; free it with [`bench_destroy`].
#[unsafe(no_mangle)]
pub extern "C" fn bench_create() -> *mut State {
    Box::into_raw(Box::new(State { boids: Boids::default(), frames: 0 }))
}

/// Frees a state made by [`bench_create`] of this library.
///
/// # Safety
/// `state` comes from [`bench_create`] of this same library and is not used
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_destroy(state: *mut State) {
    if !state.is_null() {
        // SAFETY: the caller hands back the box made by `bench_create`.
        drop(unsafe { Box::from_raw(state) });
    }
}

/// A call that does nothing (the `call_overhead` workload).
#[unsafe(no_mangle)]
pub extern "C" fn bench_noop(_state: *mut State) {}

/// `pos += vel × dt` for `n` bodies; counts one frame.
///
/// # Safety
/// `state` is live; `pos` and `vel` point to `n` elements each, `pos`
/// writable and not overlapping `vel`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_integrate(state: *mut State, pos: *mut V2, vel: *const V2, n: usize, dt: f32) {
    // SAFETY: the caller's contract above.
    let state = unsafe { &mut *state };
    state.frames += 1;
    if n > 0 {
        // SAFETY: as above.
        let (pos, vel) = unsafe { (std::slice::from_raw_parts_mut(pos, n), std::slice::from_raw_parts(vel, n)) };
        plugin_workload::integrate(pos, vel, dt);
    }
}

/// One flocking step of `n` bodies, in place.
///
/// # Safety
/// `state` is live; `pos` and `vel` point to `n` writable elements each,
/// not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_boids(state: *mut State, pos: *mut V2, vel: *mut V2, n: usize, dt: f32) {
    // SAFETY: the caller's contract above.
    let state = unsafe { &mut *state };
    if n > 0 {
        // SAFETY: as above.
        let (pos, vel) = unsafe { (std::slice::from_raw_parts_mut(pos, n), std::slice::from_raw_parts_mut(vel, n)) };
        state.boids.step(pos, vel, dt);
    }
}

/// Answers `n` messages: `out[i]` answers `pings[i]`.
///
/// # Safety
/// `pings` points to `n` messages and `out` to room for `n` answers (it
/// need not be initialised); they do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_events(_state: *mut State, pings: *const Ping, n: usize, out: *mut Pong) {
    if n > 0 {
        // SAFETY: the caller's contract above.
        let pings = unsafe { std::slice::from_raw_parts(pings, n) };
        for (i, p) in pings.iter().enumerate() {
            // SAFETY: `out` has room for `n` answers.
            unsafe { out.add(i).write(plugin_workload::answer(p)) };
        }
    }
}

/// The number of [`bench_integrate`] calls this state counted.
///
/// # Safety
/// `state` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_frames(state: *const State) -> u64 {
    // SAFETY: the caller's contract above.
    unsafe { (*state).frames }
}

/// The state to carry over a reload: all of it is the frame counter (the
/// boids scratch is rebuilt on every step).
///
/// # Safety
/// `state` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_save(state: *const State) -> u64 {
    // SAFETY: the caller's contract above.
    unsafe { (*state).frames }
}

/// A probe for the host's tests, not part of the workloads: registers a
/// thread-local destructor on the calling thread, as any use of a
/// `thread_local!` value that needs dropping does. glibc then refuses to
/// unmap the library on `dlclose` (the destructor's code must outlive the
/// thread), which the host's tests show.
#[unsafe(no_mangle)]
pub extern "C" fn bench_probe_tls_destructor() {
    thread_local! {
        static PINNED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    PINNED.with(|v| v.borrow_mut().push(1));
}

/// Takes over a state saved by [`bench_save`] (of this or an older build).
///
/// # Safety
/// `state` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bench_restore(state: *mut State, saved: u64) {
    // SAFETY: the caller's contract above.
    unsafe { (*state).frames = saved };
}
