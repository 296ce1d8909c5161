//! Observing a session: checksums to exchange, events, where it stands, counters, and the
//! snapshots behind a desync or a sync-test mismatch (forensics).

use framelock_core::Event;

use crate::error::{check_size, guard, out, write_bytes, FfiError};
use crate::framelock_status;
use crate::session::{
    framelock_session, lock, mode_code, observe, slot_arg, FRAMELOCK_EVENT_CHECKSUM_NOT_COMPARED,
    FRAMELOCK_EVENT_DESYNC, FRAMELOCK_EVENT_SLOT_DISCONNECTED, FRAMELOCK_EVENT_SYNC_TEST_MISMATCH,
};

/// Something the engine should know about, from framelock_session_poll_event().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_event {
    /// FRAMELOCK_EVENT_NONE (nothing waiting) or another FRAMELOCK_EVENT_ kind.
    pub kind: u32,
    /// The slot concerned (desync: the peer that sent the checksum).
    pub slot: u32,
    /// The frame concerned.
    pub frame: u32,
    /// Desync: the local checksum. Sync-test mismatch: the first run's checksum.
    pub local_checksum: u64,
    /// Desync: the remote checksum. Sync-test mismatch: the resimulation's checksum.
    pub remote_checksum: u64,
}

/// The two snapshots of a sync-test mismatch, from framelock_session_sync_test_mismatch(). The
/// byte pointers point into the session: valid until the next call that changes it (copy or write
/// them out before the next advance).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_mismatch {
    /// The frame whose starting state differed (as in the FRAMELOCK_EVENT_SYNC_TEST_MISMATCH event).
    pub frame: u32,
    /// The first run's snapshot of that state.
    pub first: *const u8,
    /// Its length in bytes.
    pub first_len: usize,
    /// The resimulation's snapshot of the same state.
    pub second: *const u8,
    /// Its length in bytes.
    pub second_len: usize,
}

/// Where a session stands. Set struct_size before calling framelock_session_get_info().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_session_info {
    /// sizeof(framelock_session_info).
    pub struct_size: u32,
    /// The frame the next advance simulates.
    pub current_frame: u32,
    /// The first frame whose inputs are not all confirmed.
    pub confirmed_until: u32,
    /// Every frame below this has its final checksum recorded.
    pub checksummed_until: u32,
    /// The current input delay.
    pub input_delay: u32,
    /// The number of slots.
    pub slots: u32,
    /// The largest input in bytes.
    pub max_input_size: u32,
    /// FRAMELOCK_MODE_ constant.
    pub mode: u32,
    /// The local slots.
    pub local_slots: u64,
    /// The capacity of a snapshot buffer in bytes.
    pub max_snapshot_size: usize,
}

/// Counters of what a session did. Set struct_size before calling framelock_session_get_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_stats {
    /// sizeof(framelock_stats).
    pub struct_size: u32,
    /// The longest rollback, in frames.
    pub max_rollback: u32,
    /// Frames simulated for the first time.
    pub frames_advanced: u64,
    /// Frames simulated again after a load (rollbacks and sync-test checks).
    pub frames_resimulated: u64,
    /// Rollbacks performed.
    pub rollbacks: u64,
    /// Advances that could not advance the frame.
    pub stalls: u64,
    /// Remote checksums compared with a local one.
    pub checksums_compared: u64,
    /// Desyncs and sync-test mismatches found.
    pub desyncs: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
}

// ----- exports: checksums, events, observation ------------------------------------------------------

/// Compares a remote peer's checksum of `frame` (from `slot`) with the local one, now or once the
/// local one is final. A difference raises FRAMELOCK_EVENT_DESYNC.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_UNKNOWN_SLOT;
/// FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (older than the kept history); FRAMELOCK_ERR_CHECKSUM_QUEUE_FULL.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_add_remote_checksum(
    session: *mut framelock_session,
    slot: u32,
    frame: u32,
    checksum: u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        s.session.add_remote_checksum(slot_arg(slot), frame, checksum)?;
        Ok(())
    })
}

/// Writes the final checksum of the state at the start of confirmed frame `frame` to
/// `*out_checksum` (to send to peers), while the history holds it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (not final
/// yet, too old, or not taken in lockstep with a checksum_interval).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_checksum(
    session: *const framelock_session,
    frame: u32,
    out_checksum: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        let until = s.session.checksummed_until();
        let c = s.session.checksum(frame).ok_or(FfiError::NoLocalChecksum { frame, until })?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_checksum.write(c) };
        Ok(())
    })
}

/// Takes the oldest waiting event into `*out_event`; its kind is FRAMELOCK_EVENT_NONE when none is
/// waiting. Poll until NONE after every tick.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_poll_event(
    session: *mut framelock_session,
    out_event: *mut framelock_event,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { observe(session) }?;
        let out_event = out(out_event, "out_event")?;
        let e = match s.session.poll_event() {
            None => framelock_event::default(),
            Some(Event::Desync { frame, slot, local, remote }) => framelock_event {
                kind: FRAMELOCK_EVENT_DESYNC,
                slot: slot as u32,
                frame,
                local_checksum: local,
                remote_checksum: remote,
            },
            Some(Event::SyncTestMismatch { frame, first, second }) => framelock_event {
                kind: FRAMELOCK_EVENT_SYNC_TEST_MISMATCH,
                slot: 0,
                frame,
                local_checksum: first,
                remote_checksum: second,
            },
            Some(Event::SlotDisconnected { slot, frame }) => framelock_event {
                kind: FRAMELOCK_EVENT_SLOT_DISCONNECTED,
                slot: slot as u32,
                frame,
                ..Default::default()
            },
            Some(Event::ChecksumNotCompared { frame, slot }) => framelock_event {
                kind: FRAMELOCK_EVENT_CHECKSUM_NOT_COMPARED,
                slot: slot as u32,
                frame,
                ..Default::default()
            },
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_event.write(e) };
        Ok(())
    })
}

/// Writes where the session stands to `*out_info` (set its struct_size first).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_get_info(
    session: *const framelock_session,
    out_info: *mut framelock_session_info,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let out_info = out(out_info, "out_info")?;
        // SAFETY: non-NULL; the caller promises a readable struct whose struct_size is set.
        check_size::<framelock_session_info>(unsafe { (*out_info).struct_size }, "framelock_session_info")?;
        let x = &s.session;
        let info = framelock_session_info {
            struct_size: core::mem::size_of::<framelock_session_info>() as u32,
            current_frame: x.current_frame(),
            confirmed_until: x.confirmed_until(),
            checksummed_until: x.checksummed_until(),
            input_delay: x.input_delay(),
            slots: x.slots() as u32,
            max_input_size: x.max_input_size() as u32,
            mode: mode_code(x.mode()),
            local_slots: x.local_slots(),
            max_snapshot_size: x.max_snapshot_size(),
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_info.write(info) };
        Ok(())
    })
}

/// Writes the session's counters to `*out_stats` (set its struct_size first).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_get_stats(
    session: *const framelock_session,
    out_stats: *mut framelock_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller promises a readable struct whose struct_size is set.
        check_size::<framelock_stats>(unsafe { (*out_stats).struct_size }, "framelock_stats")?;
        let st = s.session.stats();
        let stats = framelock_stats {
            struct_size: core::mem::size_of::<framelock_stats>() as u32,
            max_rollback: st.max_rollback,
            frames_advanced: st.frames_advanced,
            frames_resimulated: st.frames_resimulated,
            rollbacks: st.rollbacks,
            stalls: st.stalls,
            checksums_compared: st.checksums_compared,
            desyncs: st.desyncs,
            events_dropped: st.events_dropped,
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_stats.write(stats) };
        Ok(())
    })
}

/// Writes the slots whose input for `frame` is not confirmed yet to `*out_mask` (bit `s` for slot
/// `s`).
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_waiting_for(
    session: *const framelock_session,
    frame: u32,
    out_mask: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let out_mask = out(out_mask, "out_mask")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_mask.write(s.session.waiting_for(frame)) };
        Ok(())
    })
}

// ----- forensics ---------------------------------------------------------------------------------

/// Sync test: writes the frame and both snapshots of the first mismatch the session found (the
/// first run's and the resimulation's state at the start of that frame) to `*out_mismatch`, to
/// diff them (GGPO's log_game_state). The session keeps the first mismatch only, from the moment its
/// FRAMELOCK_EVENT_SYNC_TEST_MISMATCH is raised until the session is freed.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_SUCH_SNAPSHOT (no mismatch
/// found, or not a sync-test session).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_sync_test_mismatch(
    session: *const framelock_session,
    out_mismatch: *mut framelock_mismatch,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let out_mismatch = out(out_mismatch, "out_mismatch")?;
        let e = s.session.sync_test_evidence().ok_or(FfiError::NoMismatch)?;
        let m = framelock_mismatch {
            frame: e.frame,
            first: e.first.as_ptr(),
            first_len: e.first.len(),
            second: e.second.as_ptr(),
            second_len: e.second.len(),
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_mismatch.write(m) };
        Ok(())
    })
}

/// Writes a pointer to the local snapshot of the state at the start of `frame` and its length,
/// once that frame's checksum is final and while the session's snapshot ring still holds it (the
/// last few frames: max_prediction + 2 or more, rounded up to a power of two). After a
/// FRAMELOCK_EVENT_DESYNC, this is the local state whose checksum differed from the peer's: write it
/// out, ask the peer for its own (framelock_session_snapshot() on its side) and diff them. The
/// bytes are owned by the session and valid until the next call that changes it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_SUCH_SNAPSHOT (not final yet,
/// or no longer held; the message says which).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_snapshot(
    session: *const framelock_session,
    frame: u32,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let until = s.session.checksummed_until();
        // SAFETY: NULL or writable out-parameters.
        unsafe {
            write_bytes(out_data, out_len, || {
                s.session.final_snapshot(frame).ok_or(FfiError::NoFinalSnapshot { frame, until })
            })
        }
    })
}
