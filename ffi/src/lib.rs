//! # framelock-ffi: the C ABI of framelock
//!
//! Builds `libframelock` (`.a` and `.so`) for C and C++ engines; the header is
//! `include/framelock.h` (generated from this crate by a pinned cbindgen and committed), with a
//! C++17 RAII wrapper in `include/framelock.hpp`. `docs/c-api.md` is the guide.
//!
//! ## Quick start (C)
//!
//! ```c
//! #include "framelock.h"
//!
//! framelock_session_config cfg;
//! framelock_session_config_init(&cfg);          /* 2 slots, slot 0 local, rollback, 8 frames */
//! cfg.max_input_size = 1;
//! cfg.max_snapshot_size = sizeof(game_state);
//! framelock_session *s = NULL;
//! if (framelock_session_new(&cfg, &s) != FRAMELOCK_OK) {
//!     fprintf(stderr, "%s\n", framelock_last_error_message());
//!     return 1;
//! }
//! for (;;) {                                    /* one tick */
//!     uint8_t in = read_pad();
//!     framelock_session_add_local_input(s, 0, &in, 1, NULL);
//!     /* ...framelock_session_add_remote_input() for what the network delivered... */
//!     framelock_outcome o;
//!     framelock_session_advance(s, &o);
//!     size_t n = 0;
//!     framelock_session_request_count(s, &n);
//!     for (size_t i = 0; i < n; i++) {
//!         framelock_request r;
//!         framelock_session_request(s, i, &r);
//!         /* SAVE: framelock_session_save(s, r.frame, &state, sizeof state, NULL)
//!            LOAD: framelock_session_load(s, r.frame, &data, &len), then memcpy into state
//!            ADVANCE: framelock_session_request_inputs(s, i, inputs, 64, &count), simulate */
//!     }
//!     framelock_session_finish_step(s);
//!     framelock_event e;
//!     while (framelock_session_poll_event(s, &e) == FRAMELOCK_OK && e.kind != FRAMELOCK_EVENT_NONE) { /* ... */ }
//! }
//! framelock_session_free(s);
//! ```
//!
//! Or hand the session three GGPO-style callbacks with `framelock_session_advance_with`.
//!
//! ## Rules of this crate
//!
//! Every export runs inside [`std::panic::catch_unwind`], with a panic hook that keeps panics
//! inside framelock calls silent (the library never prints); pointers are checked for NULL and turn
//! into `FRAMELOCK_ERR_NULL_ARGUMENT`; out-parameters are written only on success; the last error
//! is a fixed per-thread buffer, so a tick through the C ABI allocates nothing (see
//! `tests/zero_alloc.rs`). A session handle is reached only through a per-call claim (`lock.rs`):
//! a second thread gets `FRAMELOCK_ERR_BUSY`, a callback calling its own session
//! `FRAMELOCK_ERR_REENTRANT`. A step whose fulfilment fails is undone (`Session::abort_step`).
// The C ABI is raw pointers by definition: every `unsafe` block below states why it is sound
// (the caller's documented contract, plus the NULL and range checks made just before).
#![allow(unsafe_code)]
#![deny(missing_docs)]
#![allow(non_camel_case_types)]
#![warn(unsafe_op_in_unsafe_fn)]
// The exports are `unsafe extern "C" fn`s: their safety contract (valid or NULL pointers, buffer
// lengths, handles used by one thread at a time) is written once, in the header's conventions and
// each function's documentation, rather than in a `# Safety` section per function.
#![allow(clippy::missing_safety_doc)]

mod error;
mod lock;
mod session;
mod callbacks;
mod conditioner;
mod observe;
mod arena;
mod log;
mod log_stream;
mod net;
mod p2p;
mod tagged_sim;

pub use arena::*;
pub use callbacks::*;
pub use error::framelock_status;
pub use log::*;
pub use log_stream::*;
pub use net::*;
pub use observe::*;
pub use p2p::*;
pub use session::*;

const _: () = assert!(FRAMELOCK_ARENA_INPUT_SIZE as usize == framelock_core::arena::INPUT_SIZE);

use core::ffi::c_char;

use error::{bytes, guard, out};

/// The major version of the header (compare with framelock_version() at run time).
pub const FRAMELOCK_VERSION_MAJOR: u32 = 0;
/// The minor version of the header.
pub const FRAMELOCK_VERSION_MINOR: u32 = 1;
/// The patch version of the header.
pub const FRAMELOCK_VERSION_PATCH: u32 = 0;

/// A decimal number at compile time (for the version check below).
const fn parse(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0;
    while i < b.len() {
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}
// The header's version constants are literals (cbindgen copies them); this fails the build when
// Cargo.toml's version moves without them.
const _: () = assert!(
    FRAMELOCK_VERSION_MAJOR == parse(env!("CARGO_PKG_VERSION_MAJOR"))
        && FRAMELOCK_VERSION_MINOR == parse(env!("CARGO_PKG_VERSION_MINOR"))
        && FRAMELOCK_VERSION_PATCH == parse(env!("CARGO_PKG_VERSION_PATCH"))
);

/// The library's version, e.g. "0.1.0": a static NUL-terminated string (never free it).
#[no_mangle]
pub extern "C" fn framelock_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last error on the calling thread: a NUL-terminated UTF-8 string owned by the
/// library, valid until the next framelock call on this thread (copy it to keep it). Never NULL:
/// "" when no call failed yet. Successful calls leave it unchanged (like errno).
#[no_mangle]
pub extern "C" fn framelock_last_error_message() -> *const c_char {
    error::last_message_ptr()
}

/// The status of the last error on the calling thread (FRAMELOCK_OK when none yet).
#[no_mangle]
pub extern "C" fn framelock_last_error_status() -> framelock_status {
    error::last_status()
}

/// Forgets the last error on the calling thread (the message becomes "").
#[no_mangle]
pub extern "C" fn framelock_clear_last_error() {
    error::clear_last()
}

/// The name of a status code, e.g. "FRAMELOCK_ERR_NULL_ARGUMENT" (a static string, never NULL;
/// "FRAMELOCK_UNKNOWN_STATUS" for a number that is no status).
#[no_mangle]
pub extern "C" fn framelock_status_name(status: i32) -> *const c_char {
    error::status_name(status).as_ptr()
}

/// Writes the 64-bit checksum framelock takes of a snapshot (`len` bytes at `data`; the same on
/// every platform) to `*out_checksum`.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_checksum64(data: *const u8, len: usize, out_checksum: *mut u64) -> framelock_status {
    guard(|| {
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_checksum.write(framelock_core::checksum64(data)) };
        Ok(())
    })
}
