//! The functions `#[mod_main]` exports (ABI.md, "Exported by the mod").

use super::app::App;
use super::cell::Slot;
use super::param::FrameCtx;
use super::registry;
use crate::abi::status;
use core::cell::Cell;

thread_local! {
    /// The one buffer the host writes frames into (`mod_alloc`), and the
    /// descriptor text, both kept alive until replaced.
    static HOST_BUFFER: Slot<Vec<u128>> = const { Slot::new(Vec::new()) };
    /// Text handed to the host (descriptor, state, errors); the host reads
    /// it before the next call, so one slot serves them all.
    static HANDED_OUT: Slot<String> = const { Slot::new(String::new()) };
    /// The mod's name and version, from its manifest.
    static IDENTITY: Cell<(&'static str, &'static str)> = const { Cell::new(("", "")) };
}

/// `mod_save_state` (ABI 1.1): `0` (no state) for a mod that saves no
/// resource. The RON code is reached only through
/// the registry's `state_io`, which `init_saved_resource` sets, so a
/// mod without saved state carries none of it.
pub fn save_state() -> i64 {
    let Some(io) = registry::with(|r| r.state_io) else { return 0 };
    let (name, version) = IDENTITY.get();
    (io.save)(name, version)
}

/// `mod_restore_state` (ABI 1.1): a mod that saves no resource takes any
/// state as nothing to restore.
pub fn restore_state(ptr: i32, len: i32) -> i64 {
    match registry::with(|r| r.state_io) {
        Some(io) => (io.restore)(ptr, len),
        None => 0,
    }
}

/// Keeps `text` alive until the next call and returns it packed as
/// `(len << 32) | ptr` (ABI.md, "Global rules").
pub(crate) fn hand_out(text: String) -> i64 {
    HANDED_OUT.with(|slot| {
        slot.with(|t| {
            *t = text;
            ((t.len() as i64) << 32) | (t.as_ptr() as u32 as i64)
        })
    })
}

/// `mod_alloc`: a buffer of at least `size` bytes, 16-byte aligned, for the
/// host to write frames into. It replaces (and frees) the previous one.
pub fn alloc(size: i32, _align: i32) -> i32 {
    let words = (size.max(0) as usize).div_ceil(16);
    HOST_BUFFER.with(|b| {
        b.with(|b| {
            *b = vec![0u128; words.max(1)];
            b.as_mut_ptr() as i32
        })
    })
}

/// `mod_init`: runs the mod's entry point and returns its descriptor.
/// `id` and `version` come from the mod's manifest (`#[mod_main]` reads it).
#[inline(never)]
pub fn init(main: fn(&mut App), id: &'static str, version: &'static str) -> i64 {
    std::panic::set_hook(Box::new(report_panic));
    let mut app = App { name: id, version };
    main(&mut app);
    IDENTITY.set((app.name, app.version));
    let text = registry::with(|r| {
        r.components_known_to_host = r.components.len() as u32;
        let d = super::ron_out::Described {
            name: app.name,
            version: app.version,
            components: &r.components,
            messages: &r.messages,
            functions: &r.functions,
            resources: &r.game_resources,
        };
        super::ron_out::descriptor(&d, r.systems.iter().map(|(s, _)| s))
    });
    hand_out(text)
}

/// The panic hook: the message and where it was raised, as
/// `{message} (at {file}:{line}:{column})`, for the host to report.
/// NOTE: written by hand rather than with `PanicHookInfo`'s `Display`,
/// which would link `core::fmt`'s padding code into every mod (issue 15).
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let mut text = String::from(info.payload_as_str().unwrap_or("Box<dyn Any>"));
    if let Some(at) = info.location() {
        text.push_str(" (at ");
        text.push_str(at.file());
        for n in [at.line(), at.column()] {
            text.push(':');
            super::ron_out::push_u64(&mut text, n as u64);
        }
        text.push(')');
    }
    super::sys::panic_message(&text);
}

/// `mod_run`: runs system `system` on the frame at `frame_ptr`.
pub fn run(system: i32, frame_ptr: i32) -> i32 {
    // Take the system out so it can register things (components) while running.
    let taken = registry::with(|r| {
        r.systems.get_mut(system as usize).map(|(_, s)| core::mem::replace(s, Box::new(Placeholder)))
    });
    let Some(mut sys) = taken else { return status::UNKNOWN_SYSTEM };
    // SAFETY: the host wrote a frame for this system at `frame_ptr`.
    unsafe { sys.run(&FrameCtx::new(frame_ptr as usize as *mut u8)) };
    // `get_mut`, not indexing: the system is there (it was taken from
    // there), and a bounds check's message would link integer formatting.
    registry::with(|r| {
        if let Some((_, slot)) = r.systems.get_mut(system as usize) {
            *slot = sys;
        }
    });
    status::OK
}

struct Placeholder;
impl super::param::ErasedSystem for Placeholder {
    unsafe fn run(&mut self, _: &FrameCtx) {}
}
