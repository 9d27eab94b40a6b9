//! System parameters and the conversion of plain functions into mod systems,
//! the same shape as Bevy's `SystemParam` / `IntoSystem`.

use crate::abi::{FrameHeader, ParamDecl, ParamSlot};
use core::ops::{Deref, DerefMut};

/// What a system sees of the frame buffer during one `mod_run`.
pub struct FrameCtx {
    base: *mut u8,
    slots: *mut ParamSlot,
    param_count: u32,
}

impl FrameCtx {
    /// # Safety
    /// `base` points at a frame buffer the host wrote (ABI.md, "Frame buffer").
    pub(crate) unsafe fn new(base: *mut u8) -> Self {
        // SAFETY: guaranteed by the caller.
        let header = unsafe { &*(base as *const FrameHeader) };
        FrameCtx {
            base,
            // SAFETY: the slots follow the header.
            slots: unsafe { base.add(size_of::<FrameHeader>()) } as *mut ParamSlot,
            param_count: header.param_count,
        }
    }
    pub(crate) fn header_ptr(&self) -> *mut FrameHeader {
        self.base as *mut FrameHeader
    }
    /// Slot `i` of the parameters (host-written for inputs).
    pub(crate) fn slot(&self, i: usize) -> ParamSlot {
        assert!(i < self.param_count as usize, "frame buffer has too few parameter slots");
        // SAFETY: in bounds of the slot array the host wrote.
        unsafe { self.slots.add(i).read_unaligned() }
    }
    pub(crate) fn set_slot(&self, i: usize, slot: ParamSlot) {
        assert!(i < self.param_count as usize, "frame buffer has too few parameter slots");
        // SAFETY: as above.
        unsafe { self.slots.add(i).write_unaligned(slot) }
    }
    /// Sets query slot `i`'s `len` to what the system may have changed
    /// (`abi::TOUCHED_LOCATED` or `abi::TOUCHED_ALL`, ABI 1.7). `i` is a
    /// slot [`slot`](Self::slot) has read.
    pub(crate) fn report_touched(&self, i: usize, touched: u32) {
        // SAFETY: slot `i` is in the slot array (checked when it was read);
        // `len` is its second word.
        unsafe { (self.slots.add(i) as *mut u32).add(1).write_unaligned(touched) }
    }
    /// Address of a host-written block at `offset` in the frame.
    pub(crate) fn at(&self, offset: u32) -> *mut u8 {
        // SAFETY: offsets come from the host, inside the buffer it sized.
        unsafe { self.base.add(offset as usize) }
    }
}

/// A parameter of a mod system.
///
/// # Safety
/// `init` must declare exactly what `fetch` reads from its slot.
pub unsafe trait SystemParam: Sized {
    /// Kept between runs (buffers, locals).
    type State: 'static;
    /// What the system function receives.
    type Item<'s>;
    /// Called once at registration: the state and what the host must provide.
    fn init() -> (Self::State, ParamDecl);
    /// # Safety
    /// `frame` is the frame of the current call and `slot` this parameter's index.
    unsafe fn fetch<'s>(state: &'s mut Self::State, frame: &'s FrameCtx, slot: usize) -> Self::Item<'s>;
    /// After the system returned: publish outputs into the slot.
    fn finish(_state: &mut Self::State, _frame: &FrameCtx, _slot: usize) {}
}

/// A system registered by a mod, type-erased.
#[doc(hidden)]
pub trait ErasedSystem {
    /// # Safety
    /// `frame` is the frame the host wrote for this system.
    unsafe fn run(&mut self, frame: &FrameCtx);
}

/// A function usable as a mod system: any `fn` whose parameters all
/// implement [`SystemParam`], up to 12 of them.
pub trait IntoModSystem<Marker>: 'static {
    #[doc(hidden)]
    fn build(self) -> (Vec<ParamDecl>, Box<dyn ErasedSystem>);
    /// The system's name: the function's path, e.g. `asteroids::spawn_wave`.
    fn system_name(&self) -> &'static str {
        core::any::type_name::<Self>()
    }
}

struct FnSystem<F, S, M> {
    f: F,
    state: S,
    _marker: core::marker::PhantomData<fn() -> M>,
}

macro_rules! impl_system {
    ($($p:ident $s:ident),*) => {
        #[allow(non_snake_case, unused_variables, unused_mut, clippy::unused_unit)]
        impl<Func, $($p: SystemParam + 'static),*> IntoModSystem<fn($($p,)*)> for Func
        where
            Func: 'static,
            for<'a> &'a mut Func: FnMut($($p),*) + FnMut($($p::Item<'_>),*),
        {
            fn build(self) -> (Vec<ParamDecl>, Box<dyn ErasedSystem>) {
                let mut decls = Vec::new();
                let state = ($({ let (s, d) = $p::init(); decls.push(d); s },)*);
                (decls, Box::new(FnSystem::<Func, ($($p::State,)*), fn($($p,)*)> { f: self, state, _marker: core::marker::PhantomData }))
            }
        }

        #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments, clippy::unused_unit)]
        impl<Func, $($p: SystemParam + 'static),*> ErasedSystem for FnSystem<Func, ($($p::State,)*), fn($($p,)*)>
        where
            for<'a> &'a mut Func: FnMut($($p),*) + FnMut($($p::Item<'_>),*),
        {
            unsafe fn run(&mut self, frame: &FrameCtx) {
                #[allow(clippy::too_many_arguments)]
                fn call_inner<$($p),*>(mut f: impl FnMut($($p),*), $($s: $p),*) {
                    f($($s),*)
                }
                {
                    let ($($s,)*) = &mut self.state;
                    let mut slot = 0usize;
                    $(
                        // SAFETY: `frame` is this call's frame; slots follow declaration order.
                        let $s = unsafe { $p::fetch($s, frame, slot) };
                        slot += 1;
                    )*
                    call_inner(&mut self.f, $($s),*);
                }
                let ($($s,)*) = &mut self.state;
                let mut slot = 0usize;
                $( $p::finish($s, frame, slot); slot += 1; )*
            }
        }
    };
}

impl_system!();
impl_system!(P0 s0);
impl_system!(P0 s0, P1 s1);
impl_system!(P0 s0, P1 s1, P2 s2);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5, P6 s6);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5, P6 s6, P7 s7);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5, P6 s6, P7 s7, P8 s8);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5, P6 s6, P7 s7, P8 s8, P9 s9);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5, P6 s6, P7 s7, P8 s8, P9 s9, P10 s10);
impl_system!(P0 s0, P1 s1, P2 s2, P3 s3, P4 s4, P5 s5, P6 s6, P7 s7, P8 s8, P9 s9, P10 s10, P11 s11);

/// Per-system state that persists between runs, like Bevy's `Local`:
/// each system (and each `Local` parameter) has its own value, starting at
/// `T::default()`. It starts fresh in every new version of the mod (each
/// hot reload); the swap to optimized code after a load keeps it (`ABI.md`,
/// "Lifecycle", step 6). Keep what must survive a reload in a saved resource
/// ([`App::init_saved_resource`](crate::App::init_saved_resource)).
///
/// ```
/// use mod_api::prelude::*;
///
/// // A timer only this system needs: everything blinks twice a second.
/// fn blink(time: Res<Time>, mut since: Local<f32>, mut shown: Query<&mut Visibility>) {
///     *since += time.delta_secs();
///     if *since > 0.25 {
///         *since = 0.0;
///         shown.for_each_mut(|v| *v = if *v == Visibility::HIDDEN { Visibility::VISIBLE } else { Visibility::HIDDEN });
///     }
/// }
/// # fn main() {}
/// ```
pub struct Local<'s, T: Default + 'static>(&'s mut T);

impl<T: Default + 'static> Deref for Local<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0
    }
}
impl<T: Default + 'static> DerefMut for Local<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0
    }
}

// SAFETY: reads nothing from the frame.
unsafe impl<T: Default + 'static> SystemParam for Local<'_, T> {
    type State = T;
    type Item<'s> = Local<'s, T>;
    fn init() -> (T, ParamDecl) {
        (T::default(), ParamDecl::Guest)
    }
    unsafe fn fetch<'s>(state: &'s mut T, _: &'s FrameCtx, _: usize) -> Local<'s, T> {
        Local(state)
    }
}
