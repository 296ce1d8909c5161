//! One thread at a time per handle, checked: a handle whose state sits behind an owner flag.
//!
//! The C contract says a handle is used by one thread at a time and that callbacks do not call
//! back into their own handle. Engines break it by accident, and the result used to be garbage
//! errors and internal panics. Every call on a guarded handle first claims it with one atomic
//! compare-exchange (the owner is the calling thread's token); a second thread gets
//! FRAMELOCK_ERR_BUSY and a call from inside a callback of the same thread gets
//! FRAMELOCK_ERR_REENTRANT, and neither touches the state. The state is only reached through the
//! claim, so two threads never hold references to it at once.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{guard_void, FfiError};

thread_local! {
    /// Its address identifies the thread (unique among live threads; no allocation).
    static TOKEN: u8 = const { 0 };
}

/// The calling thread's token (never 0).
fn token() -> usize {
    // A thread being torn down has no TLS left: it still gets a nonzero token.
    TOKEN.try_with(|t| t as *const u8 as usize).unwrap_or(usize::MAX)
}

/// A handle's state and the flag that says which thread is inside a call on it.
#[derive(Debug)]
pub(crate) struct Guarded<T> {
    owner: AtomicUsize,
    state: UnsafeCell<T>,
}

impl<T> Guarded<T> {
    pub(crate) fn new(state: T) -> Self {
        Guarded { owner: AtomicUsize::new(0), state: UnsafeCell::new(state) }
    }

    /// Claims the state for the calling thread, or says who holds it. `what` names the handle in
    /// the message.
    pub(crate) fn claim(&self, what: &'static str) -> Result<Claim<'_, T>, FfiError> {
        let me = token();
        match self.owner.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => Ok(Claim { g: self }),
            Err(holder) if holder == me => Err(FfiError::Reentrant(what)),
            Err(_) => Err(FfiError::Busy(what)),
        }
    }
}

/// Exclusive access to a handle's state until dropped (also when a panic unwinds through it).
pub(crate) struct Claim<'a, T> {
    g: &'a Guarded<T>,
}

impl<T> Deref for Claim<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the claim is the only way to the state, and only one claim exists at a time
        // (the owner flag was 0 when it was made and is reset only when it drops).
        unsafe { &*self.g.state.get() }
    }
}

impl<T> DerefMut for Claim<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference made through the claim.
        unsafe { &mut *self.g.state.get() }
    }
}

impl<T> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        self.g.owner.store(0, Ordering::Release);
    }
}

/// The body of a `_free` export of a guarded handle: NULL does nothing, and so does a free from
/// inside one of the handle's callbacks or while another thread is in a call on it (it would pull
/// the state from under the running call). `guarded` reaches the handle's state, `what` names it.
///
/// # Safety
/// `p` is NULL or a live handle from `Box::into_raw` (its `_new` export), not freed yet.
pub(crate) unsafe fn free_guarded<H, T>(p: *mut H, what: &'static str, guarded: fn(&H) -> &Guarded<T>) {
    guard_void(|| {
        // SAFETY: NULL or live, as the caller promises.
        let Some(h) = (unsafe { p.as_ref() }) else { return };
        if guarded(h).claim(what).is_err() {
            return;
        }
        // SAFETY: non-NULL, from `Box::into_raw`, freed once, and no call is running on it (the
        // claim above was free and has been released).
        drop(unsafe { Box::from_raw(p) });
    })
}
