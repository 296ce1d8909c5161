// The body of the `ffi_log` fuzz target, shared with `ffi/tests/fuzz_corpus.rs`: untrusted bytes
// through the C ABI's log functions (open from memory, info, checksums, iterate every frame and
// slot, rewind). The ABI catches panics and reports FRAMELOCK_ERR_PANIC: that status is a finding.

#![allow(dead_code)]
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point

use framelock::{
    framelock_input, framelock_log, framelock_log_checksum, framelock_log_frame_input, framelock_log_free,
    framelock_log_get_info, framelock_log_info, framelock_log_next_frame, framelock_log_open_bytes,
    framelock_log_rewind, framelock_status,
};

fn no_panic(status: framelock_status, what: &str) -> framelock_status {
    assert!(status != framelock_status::FRAMELOCK_ERR_PANIC, "{what} panicked inside the C ABI");
    status
}

pub fn run(data: &[u8]) {
    let mut log: *mut framelock_log = core::ptr::null_mut();
    // SAFETY: `data` is readable for its length; `log` is a writable out-parameter.
    let status = no_panic(unsafe { framelock_log_open_bytes(data.as_ptr(), data.len(), &mut log) }, "open_bytes");
    if status != framelock_status::FRAMELOCK_OK || log.is_null() {
        return;
    }
    let mut info =
        framelock_log_info { struct_size: core::mem::size_of::<framelock_log_info>() as u32, ..Default::default() };
    // SAFETY: a live handle and a writable struct with struct_size set.
    no_panic(unsafe { framelock_log_get_info(log, &mut info) }, "get_info");
    for i in 0..(info.checksums as usize).min(4096) + 1 {
        let (mut f, mut c) = (0u32, 0u64);
        // SAFETY: a live handle, writable out-parameters; an index past the end is an error.
        no_panic(unsafe { framelock_log_checksum(log, i, &mut f, &mut c) }, "checksum");
    }
    let mut frames = 0u32;
    loop {
        let (mut frame, mut has) = (0u32, false);
        // SAFETY: a live handle, writable out-parameters.
        let s = no_panic(unsafe { framelock_log_next_frame(log, &mut frame, &mut has) }, "next_frame");
        if s != framelock_status::FRAMELOCK_OK || !has || frames > 50_000 {
            break;
        }
        frames += 1;
        for slot in 0..info.slots + 1 {
            let mut input = framelock_input { bytes: core::ptr::null(), len: 0, slot: 0, status: 0 };
            // SAFETY: a live handle, a writable out-parameter; a slot past the last is an error.
            let s = no_panic(unsafe { framelock_log_frame_input(log, slot, &mut input) }, "frame_input");
            if s == framelock_status::FRAMELOCK_OK && input.len > 0 {
                assert!(input.len <= info.max_input_size as usize);
                // SAFETY: the ABI promises `len` readable bytes until the log's next call.
                let bytes = unsafe { core::slice::from_raw_parts(input.bytes, input.len) };
                core::hint::black_box(bytes);
            }
        }
    }
    for frame in [info.first_frame, info.first_frame.wrapping_add(info.frames / 2), info.end_frame, u32::MAX] {
        // SAFETY: a live handle; frames outside the log are errors.
        no_panic(unsafe { framelock_log_rewind(log, frame) }, "rewind");
    }
    // SAFETY: a handle from framelock_log_open_bytes(), freed once.
    unsafe { framelock_log_free(log) };
}
