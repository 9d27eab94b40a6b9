//! [`Slot`]: the mod's global state cells.
//!
//! NOTE: not `RefCell`. A `RefCell`'s borrow panic formats its error with
//! `core::fmt`'s padding code, about 1.6 KiB in every mod (issue 15); a
//! slot panics with a fixed message instead.

use core::cell::{Cell, UnsafeCell};

/// A value one caller at a time may use, through [`Slot::with`].
pub(crate) struct Slot<T> {
    busy: Cell<bool>,
    value: UnsafeCell<T>,
}

impl<T> Slot<T> {
    pub(crate) const fn new(value: T) -> Self {
        Slot { busy: Cell::new(false), value: UnsafeCell::new(value) }
    }

    /// Runs `f` on the value. Panics if called from inside another `with`
    /// on the same slot (the value is already lent out).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        if self.busy.replace(true) {
            in_use();
        }
        struct Release<'a>(&'a Cell<bool>);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _release = Release(&self.busy);
        // SAFETY: `busy` was false, so no other reference to the value exists
        // until `_release` clears it.
        f(unsafe { &mut *self.value.get() })
    }
}

#[cold]
#[inline(never)]
fn in_use() -> ! {
    panic!("mod-api state used re-entrantly (from inside a registry or buffer access)")
}

#[cfg(test)]
mod tests {
    use super::Slot;

    #[test]
    fn a_slot_lends_its_value_and_takes_it_back() {
        let slot = Slot::new(1);
        slot.with(|v| *v += 1);
        assert_eq!(slot.with(|v| *v), 2);
    }

    #[test]
    #[should_panic(expected = "re-entrantly")]
    fn a_slot_refuses_a_second_borrow() {
        let slot = Slot::new(0);
        slot.with(|_| slot.with(|_| ()));
    }

    #[test]
    fn a_panic_inside_frees_the_slot() {
        let slot = Slot::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| slot.with(|_| panic!("inner"))));
        assert!(caught.is_err());
        assert_eq!(slot.with(|v| *v), 0);
    }
}
