//! A native dynamic library with a C ABI, loaded with libloading: the
//! analogue of Go's `plugin` package or of native Rust plugin systems.
//!
//! The plugin is the `bench-dylib` crate (`guests/dylib/`), a `cdylib` that
//! runs the shared workload code and exports a small C ABI: an ABI version
//! the host checks first, create/destroy of an opaque state (the boids
//! scratch and the `frames` counter), one function per workload, `frames`,
//! and save/restore of the state for reloads.
//!
//! How data crosses the boundary: it does not. The host passes pointers to
//! its own [`Columns`] and message slices and the library works on them in
//! place (answers are written straight into the spare capacity of the
//! host's `Vec<Pong>`). The symbols are looked up once at load and kept as
//! plain `extern "C"` function pointers beside the [`Library`], so a call is
//! one indirect call, as fast as a native call that cannot be inlined. The
//! price is safety: the library runs in the host's address space with no
//! isolation, and nothing checks the signatures beyond the ABI version.
//!
//! Reload opens the new file (a path never loaded before: the loader hands
//! back the already loaded library for a known path), moves the state
//! across (save from the old library, restore into the new one), frees the
//! old state with the old library's code and closes the old library.
//!
//! Does closing really unload? Measured, not assumed: [`unloads`] loads a
//! fresh copy, runs every entry point, closes it, and looks for the file in
//! `/proc/self/maps`. Here (glibc 2.36) it is unmapped. glibc silently keeps
//! a library mapped when it has the `DF_1_NODELETE` flag, when it has
//! `STB_GNU_UNIQUE` symbols (C++ inline statics), or when, at the moment of
//! `dlclose`, a live thread holds a thread-local destructor the library
//! registered (through `__cxa_thread_atexit_impl`, which Rust's std uses for
//! every `thread_local!` value that needs dropping). In that last case the
//! thread's exit does not unmap it either: the next `dlclose` of any
//! library after the thread ended does. `bench-dylib` has none of these: its own copy of std is linked
//! in, but the workload code touches no thread-local. So what a Rust plugin
//! needs to be unloadable is to never touch a thread-local with a
//! destructor, directly or through a library, on a thread that outlives it
//! (in a game, the main thread outlives every plugin); otherwise every
//! reload leaks one copy of the library. The tests show both cases
//! (`bench_probe_tls_destructor` registers such a destructor).

use crate::workload::{self, Ping, Pong, V2};
use crate::{Columns, Guest, fresh_copy};
use libloading::Library;
use std::ffi::c_void;
use std::path::{Path, PathBuf};

/// The ABI version this host speaks (`bench_abi_version` of the library).
pub const ABI_VERSION: u32 = 1;

type State = *mut c_void;

/// The library's entry points, looked up once.
#[derive(Clone, Copy)]
struct Api {
    create: unsafe extern "C" fn() -> State,
    destroy: unsafe extern "C" fn(State),
    noop: unsafe extern "C" fn(State),
    integrate: unsafe extern "C" fn(State, *mut V2, *const V2, usize, f32),
    boids: unsafe extern "C" fn(State, *mut V2, *mut V2, usize, f32),
    events: unsafe extern "C" fn(State, *const Ping, usize, *mut Pong),
    frames: unsafe extern "C" fn(State) -> u64,
    save: unsafe extern "C" fn(State) -> u64,
    restore: unsafe extern "C" fn(State, u64),
}

/// Looks up `name` in `lib` as a `T` (a function pointer type).
///
/// # Safety
/// `T` must be the symbol's real type.
unsafe fn symbol<T: Copy>(lib: &Library, file: &Path, name: &str) -> Result<T, String> {
    // SAFETY: the caller vouches for the type.
    unsafe { lib.get::<T>(name.as_bytes()) }.map(|s| *s).map_err(|e| format!("{}: no `{name}`: {e}", file.display()))
}

impl Api {
    /// Checks the ABI version of `lib` and looks up every entry point.
    fn new(lib: &Library, file: &Path) -> Result<Api, String> {
        // SAFETY: the types are those of `guests/dylib/src/lib.rs`, for
        // ABI_VERSION, which is checked before anything else is called.
        unsafe {
            let version: unsafe extern "C" fn() -> u32 = symbol(lib, file, "bench_abi_version")?;
            let v = version();
            if v != ABI_VERSION {
                return Err(format!("{}: ABI version {v}, this host speaks {ABI_VERSION}", file.display()));
            }
            Ok(Api {
                create: symbol(lib, file, "bench_create")?,
                destroy: symbol(lib, file, "bench_destroy")?,
                noop: symbol(lib, file, "bench_noop")?,
                integrate: symbol(lib, file, "bench_integrate")?,
                boids: symbol(lib, file, "bench_boids")?,
                events: symbol(lib, file, "bench_events")?,
                frames: symbol(lib, file, "bench_frames")?,
                save: symbol(lib, file, "bench_save")?,
                restore: symbol(lib, file, "bench_restore")?,
            })
        }
    }
}

/// The `bench-dylib` library, built in release mode (`libbench_dylib.so`).
pub fn plugin_file() -> PathBuf {
    crate::build("bench-dylib", crate::Build::Native)
}

/// A loaded library and its state.
pub struct DylibGuest {
    api: Api,
    /// Made by `api.create`; freed in `Drop` before `lib` closes.
    state: State,
    lib: Library,
}

/// Opens `file` and checks its ABI.
fn open(file: &Path) -> Result<(Library, Api), String> {
    // SAFETY: loading runs the library's initialisers; the benchmark loads
    // only its own `bench-dylib`.
    let lib = unsafe { Library::new(file) }.map_err(|e| format!("cannot load {}: {e}", file.display()))?;
    let api = Api::new(&lib, file)?;
    Ok((lib, api))
}

/// A new state from `api`.
fn create(api: &Api, file: &Path) -> Result<State, String> {
    // SAFETY: `api` belongs to a library of the right ABI that is open.
    let state = unsafe { (api.create)() };
    if state.is_null() { Err(format!("{}: bench_create returned null", file.display())) } else { Ok(state) }
}

impl Guest for DylibGuest {
    fn load(file: &Path) -> Result<DylibGuest, String> {
        let (lib, api) = open(file)?;
        let state = create(&api, file)?;
        Ok(DylibGuest { api, state, lib })
    }

    fn call_empty(&mut self) {
        // SAFETY: `state` is live and belongs to `api`'s library (all calls below).
        unsafe { (self.api.noop)(self.state) }
    }

    fn integrate(&mut self, cols: &mut Columns, dt: f32) {
        let n = cols.pos.len().min(cols.vel.len());
        // SAFETY: both columns hold at least `n` elements and do not overlap.
        unsafe { (self.api.integrate)(self.state, cols.pos.as_mut_ptr(), cols.vel.as_ptr(), n, dt) }
    }

    fn boids(&mut self, cols: &mut Columns, dt: f32) {
        let n = cols.pos.len().min(cols.vel.len());
        // SAFETY: as above, both writable.
        unsafe { (self.api.boids)(self.state, cols.pos.as_mut_ptr(), cols.vel.as_mut_ptr(), n, dt) }
    }

    fn events(&mut self, pings: &[Ping], out: &mut Vec<Pong>) {
        let (len, n) = (out.len(), pings.len());
        out.reserve(n);
        // SAFETY: `out` has room for `n` more answers, which the library
        // writes (all of them) before they are counted in.
        unsafe {
            (self.api.events)(self.state, pings.as_ptr(), n, out.as_mut_ptr().add(len));
            out.set_len(len + n);
        }
    }

    fn frames(&mut self) -> u64 {
        // SAFETY: as above.
        unsafe { (self.api.frames)(self.state) }
    }

    fn reload(&mut self, file: &Path) -> Result<(), String> {
        let (lib, api) = open(file)?;
        let state = create(&api, file)?;
        // SAFETY: each state goes to its own library's code.
        unsafe {
            (api.restore)(state, (self.api.save)(self.state));
            (self.api.destroy)(self.state);
        }
        self.api = api;
        self.state = state;
        // Closes the old library (dlclose).
        drop(std::mem::replace(&mut self.lib, lib));
        Ok(())
    }
}

impl Drop for DylibGuest {
    fn drop(&mut self) {
        // SAFETY: the state is freed by its own library, which is still open
        // (`lib` closes after this).
        unsafe { (self.api.destroy)(self.state) }
    }
}

/// Whether `file` is mapped into this process (`/proc/self/maps`).
pub fn is_mapped(file: &Path) -> bool {
    let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let file = file.to_string_lossy();
    let maps = std::fs::read_to_string("/proc/self/maps").expect("can read /proc/self/maps");
    // The path is the last column; a file deleted since gets " (deleted)".
    maps.lines()
        .filter_map(|l| l.find('/').map(|i| &l[i..]))
        .any(|path| path.strip_prefix(&*file).is_some_and(|rest| rest.is_empty() || rest == " (deleted)"))
}

/// Whether closing the library really unmaps it: loads a fresh copy of
/// [`plugin_file`], runs every entry point, drops it, and looks for the copy
/// in `/proc/self/maps`.
pub fn unloads() -> bool {
    let file = fresh_copy(&plugin_file());
    {
        let mut guest = DylibGuest::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let mut cols = Columns::start(64);
        guest.call_empty();
        guest.integrate(&mut cols, workload::DT);
        guest.boids(&mut cols, workload::DT);
        guest.events(&workload::pings(16), &mut Vec::new());
        guest.frames();
        assert!(is_mapped(&file), "{} is not in /proc/self/maps while loaded", file.display());
    }
    !is_mapped(&file)
}

/// What [`unloads`] found, for the benchmark's report next to `hot_reload`.
pub fn unload_note() -> String {
    if unloads() {
        "dlclose unmaps the old library (checked in /proc/self/maps): the library registers no \
         thread-local destructor, so reloads do not leak"
            .into()
    } else {
        "dlclose leaves the old library mapped (checked in /proc/self/maps): every reload leaks one copy".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_columns, reference_integrate};

    const TOLERANCE: f32 = 1e-4;

    fn loaded() -> (PathBuf, DylibGuest) {
        let file = fresh_copy(&plugin_file());
        let guest = DylibGuest::load(&file).unwrap_or_else(|e| panic!("{e}"));
        (file, guest)
    }

    #[test]
    fn workloads_match_the_reference() {
        let (_, mut guest) = loaded();
        crate::conformance::computes_what_the_workload_code_computes(&mut guest, "dylib", TOLERANCE);
    }

    #[test]
    fn reload_keeps_the_state_and_unmaps_the_old_copy() {
        let (old, mut guest) = loaded();
        let mut cols = Columns::start(100);
        for _ in 0..3 {
            guest.integrate(&mut cols, workload::DT);
        }
        let new = fresh_copy(&plugin_file());
        guest.reload(&new).unwrap();
        assert!(is_mapped(&new));
        assert!(!is_mapped(&old), "the old copy is still mapped after reload");
        assert_eq!(guest.frames(), 3);
        guest.integrate(&mut cols, workload::DT);
        assert_eq!(guest.frames(), 4, "the new code counts on");
        check_columns("integrate after reload", &cols, &reference_integrate(100, 4), TOLERANCE).unwrap();
        let missing = std::env::temp_dir().join("plugins-bench-no-such-library.so");
        let err = guest.reload(&missing).unwrap_err();
        assert!(err.contains("plugins-bench-no-such-library.so"), "{err}");
        assert_eq!(guest.frames(), 4, "a failed reload keeps the old plugin");
        let err = DylibGuest::load(&missing).err().unwrap();
        assert!(err.contains("cannot load"), "{err}");
    }

    #[test]
    fn closing_unmaps_the_library() {
        assert!(unloads(), "dlclose left the library mapped");
        assert!(unload_note().starts_with("dlclose unmaps"));
    }

    #[test]
    fn a_tls_destructor_pins_the_library_while_its_thread_lives() {
        let file = fresh_copy(&plugin_file());
        let f = file.clone();
        // A thread of its own, which registers the destructor, closes the
        // library and looks while the destructor is pending: whatever other
        // tests close meanwhile, glibc keeps the library then.
        let pinned = std::thread::spawn(move || {
            let guest = DylibGuest::load(&f).unwrap();
            // SAFETY: the probe's signature in `guests/dylib`.
            unsafe {
                let probe: unsafe extern "C" fn() = symbol(&guest.lib, &f, "bench_probe_tls_destructor").unwrap();
                probe();
            }
            drop(guest);
            is_mapped(&f)
        })
        .join()
        .unwrap();
        assert!(pinned, "expected glibc to keep a closed library mapped while its TLS destructor is pending");
        // The thread has ended and its destructor ran: the next `dlclose`
        // (of any library; here `unloads`' own copy) unmaps it.
        assert!(unloads(), "dlclose left a library without a TLS destructor mapped");
        assert!(!is_mapped(&file), "the library stayed mapped after its thread ended and another dlclose");
    }
}
