//! The streaming log writer: bounded memory, whole chunks, no allocation per recorded frame.

use std::io::Write;

use super::codec::{crc32, Put};
use super::{LogHeader, LoggedInput, CHUNK_END, CHUNK_FRAMES, CHUNK_KEYFRAME, FLAG_DISCONNECTED, FLAG_SUBSTITUTED};
use crate::{Error, Frame, FrameInputs, InputStatus, Session};

/// A frames chunk is closed when its body reaches this many bytes (or `frames_per_chunk` frames).
const CHUNK_BYTES: usize = 64 * 1024;
/// Checksums one chunk holds at most.
const CHUNK_CHECKSUMS: usize = 512;

/// Writes an input log to `W` chunk by chunk.
///
/// Memory is bounded by one chunk (64 KiB plus one frame), allocated up front: recording a frame
/// allocates nothing. Chunks are written whole with a CRC, so a process killed mid-recording
/// leaves a file that reads back up to its last complete chunk, and that readers report as
/// truncated: only [`LogWriter::finish`] writes the last, partial chunk and then the end chunk
/// (frame count, end frame, chunk count and a digest of every chunk's CRC) that proves the log whole.
#[derive(Debug)]
pub struct LogWriter<W: Write> {
    out: W,
    slots: usize,
    max_input: usize,
    mask_len: usize,
    frames_per_chunk: u16,
    checksum_interval: u32,
    keyframe_interval: u32,
    body: Vec<u8>,
    checksums: Vec<(Frame, u64)>,
    frames_in_chunk: u16,
    next_frame: Frame,
    /// What each slot held at the previous frame of the chunk (flags, length, bytes).
    prev: Vec<u8>,
    prev_len: Vec<u16>,
    prev_flags: Vec<u8>,
    default_input: Vec<u8>,
    /// `record_from`: the next frame whose checksum (and keyframe) is looked for.
    next_final: Frame,
    bytes_written: u64,
    chunks_written: u32,
    first_frame: Frame,
    /// CRC-32 over the CRCs of the header and of every chunk written (the end chunk's digest).
    digest: u32,
}

impl<W: Write> LogWriter<W> {
    /// Writes the header and returns a writer for the frames from `header.first_frame` on.
    ///
    /// Errors: [`Error::LogMismatch`] for a header that cannot be written; [`Error::Io`].
    pub fn new(mut out: W, header: LogHeader) -> Result<Self, Error> {
        let head = header.encode()?;
        out.write_all(&head)?;
        let (slots, max_input) = (usize::from(header.slots), usize::from(header.max_input_size));
        let frame_max = header.mask_len() + slots * (3 + max_input);
        let mut w = LogWriter {
            out,
            slots,
            max_input,
            mask_len: header.mask_len(),
            frames_per_chunk: header.frames_per_chunk,
            checksum_interval: header.checksum_interval,
            keyframe_interval: header.keyframe_interval,
            body: Vec::with_capacity(6 + CHUNK_BYTES + frame_max + 2 + 12 * CHUNK_CHECKSUMS),
            checksums: Vec::with_capacity(CHUNK_CHECKSUMS),
            frames_in_chunk: 0,
            next_frame: header.first_frame,
            prev: vec![0; slots * max_input],
            prev_len: vec![0; slots],
            prev_flags: vec![0; slots],
            default_input: Vec::new(),
            next_final: header.first_frame,
            bytes_written: head.len() as u64,
            chunks_written: 0,
            first_frame: header.first_frame,
            digest: crc32(0, &head[head.len() - 4..]),
        };
        w.default_input = header.default_input;
        w.start_chunk();
        Ok(w)
    }

    /// Records the confirmed inputs of the next frame from a session's view of it (see
    /// [`Session::poll_confirmed`]).
    ///
    /// Errors: [`Error::LogFramesOutOfOrder`] unless it is the next frame; [`Error::LogMismatch`] for
    /// a predicted input or another number of slots; [`Error::Io`].
    pub fn record_frame(&mut self, inputs: FrameInputs<'_>) -> Result<(), Error> {
        if inputs.len() != self.slots {
            return Err(Error::LogMismatch { what: "the frame has another number of slots than the log" });
        }
        if inputs.predicted_mask() != 0 {
            return Err(Error::LogMismatch { what: "a predicted input cannot be logged" });
        }
        let mut logged = inputs.iter().map(|p| {
            let flags = match p.status {
                InputStatus::Disconnected => FLAG_DISCONNECTED,
                InputStatus::Substituted => FLAG_SUBSTITUTED,
                _ => 0,
            };
            LoggedInput { flags, bytes: p.bytes }
        });
        self.push_frame(inputs.frame(), &mut logged)
    }

    /// Records every slot's input of the next frame (exactly one per slot, in slot order).
    ///
    /// Errors: as [`LogWriter::record_frame`], and [`Error::InputTooLong`].
    pub fn record_inputs(&mut self, frame: Frame, inputs: &[LoggedInput<'_>]) -> Result<(), Error> {
        if inputs.len() != self.slots {
            return Err(Error::LogMismatch { what: "the frame has another number of slots than the log" });
        }
        self.push_frame(frame, &mut inputs.iter().copied())
    }

    fn push_frame(&mut self, frame: Frame, inputs: &mut dyn Iterator<Item = LoggedInput<'_>>) -> Result<(), Error> {
        if frame != self.next_frame {
            return Err(Error::LogFramesOutOfOrder { expected: self.next_frame, found: frame });
        }
        // A log's frames end before `u32::MAX`: the frame after the last must be a frame number.
        let Some(after) = frame.checked_add(1) else { return Err(Error::FrameOverflow) };
        let mask_at = self.body.len();
        self.body.resize(mask_at + self.mask_len, 0);
        for (slot, input) in inputs.enumerate().take(self.slots) {
            if input.bytes.len() > self.max_input {
                self.body.truncate(mask_at);
                return Err(Error::InputTooLong { slot, len: input.bytes.len(), max: self.max_input });
            }
            let p = slot * self.max_input;
            let (len, flags) = (input.bytes.len() as u16, input.flags);
            if len == self.prev_len[slot]
                && flags == self.prev_flags[slot]
                && self.prev[p..p + len as usize] == *input.bytes
            {
                continue;
            }
            self.body[mask_at + slot / 8] |= 1 << (slot % 8);
            self.body.put_u8(flags);
            self.body.put_u16(len);
            self.body.extend_from_slice(input.bytes);
            self.prev[p..p + len as usize].copy_from_slice(input.bytes);
            self.prev_len[slot] = len;
            self.prev_flags[slot] = flags;
        }
        self.frames_in_chunk += 1;
        self.next_frame = after;
        if self.frames_in_chunk >= self.frames_per_chunk || self.body.len() >= CHUNK_BYTES {
            self.flush_chunk()?;
        }
        Ok(())
    }

    /// Records the checksum of the state at the start of `frame` (any frame, in any order).
    pub fn record_checksum(&mut self, frame: Frame, checksum: u64) -> Result<(), Error> {
        if self.checksums.len() == self.checksums.capacity() {
            self.flush_chunk()?;
        }
        self.checksums.push((frame, checksum));
        Ok(())
    }

    /// Records a keyframe: the snapshot of the state at the start of `frame`, for seeking.
    pub fn record_keyframe(&mut self, frame: Frame, snapshot: &[u8]) -> Result<(), Error> {
        if snapshot.len() > (super::MAX_CHUNK_BODY - 4) as usize {
            return Err(Error::LogMismatch { what: "keyframe snapshot larger than 1 GiB" });
        }
        self.flush_chunk()?;
        let len = (4 + snapshot.len()) as u32;
        let mut head = [0u8; 9];
        head[0] = CHUNK_KEYFRAME;
        head[1..5].copy_from_slice(&len.to_le_bytes());
        head[5..9].copy_from_slice(&frame.to_le_bytes());
        let crc = crc32(crc32(0, &head), snapshot);
        self.out.write_all(&head)?;
        self.out.write_all(snapshot)?;
        self.out.write_all(&crc.to_le_bytes())?;
        self.bytes_written += head.len() as u64 + snapshot.len() as u64 + 4;
        self.chunks_written += 1;
        self.digest = crc32(self.digest, &crc.to_le_bytes());
        Ok(())
    }

    /// Records everything `session` confirmed since the last call: the inputs of newly confirmed
    /// frames, the final checksums every `checksum_interval` frames, and a keyframe every
    /// `keyframe_interval` frames while the session still holds that frame's snapshot. The session
    /// must be built with [`record_confirmed(true)`](crate::SessionBuilder::record_confirmed).
    pub fn record_from(&mut self, session: &mut Session) -> Result<(), Error> {
        while let Some(inputs) = session.poll_confirmed() {
            self.record_frame(inputs)?;
        }
        while self.next_final < session.checksummed_until() {
            let f = self.next_final;
            if f % self.checksum_interval == 0 {
                if let Some(c) = session.checksum(f) {
                    self.record_checksum(f, c)?;
                }
            }
            if self.keyframe_interval > 0 && f % self.keyframe_interval == 0 {
                if let Some(snapshot) = session.final_snapshot(f) {
                    self.record_keyframe(f, snapshot)?;
                }
            }
            self.next_final += 1;
        }
        Ok(())
    }

    /// Writes the last chunk and the end chunk, flushes and returns the output. A log whose
    /// writer was never finished reads back as truncated.
    pub fn finish(mut self) -> Result<W, Error> {
        self.flush_chunk()?;
        let mut end = [0u8; 5 + 16 + 4];
        end[0] = CHUNK_END;
        end[1..5].copy_from_slice(&16u32.to_le_bytes());
        end[5..9].copy_from_slice(&(self.next_frame - self.first_frame).to_le_bytes());
        end[9..13].copy_from_slice(&self.next_frame.to_le_bytes());
        end[13..17].copy_from_slice(&self.chunks_written.to_le_bytes());
        end[17..21].copy_from_slice(&self.digest.to_le_bytes());
        let crc = crc32(0, &end[..21]);
        end[21..].copy_from_slice(&crc.to_le_bytes());
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// The next frame to record.
    pub fn next_frame(&self) -> Frame {
        self.next_frame
    }

    /// Bytes written so far (whole chunks only).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    fn start_chunk(&mut self) {
        self.body.clear();
        self.body.put_u32(self.next_frame);
        self.body.put_u16(0);
        self.frames_in_chunk = 0;
        // Every chunk decodes on its own: it starts from the default input in every slot.
        for s in 0..self.slots {
            let p = s * self.max_input;
            self.prev[p..p + self.default_input.len()].copy_from_slice(&self.default_input);
            self.prev_len[s] = self.default_input.len() as u16;
            self.prev_flags[s] = 0;
        }
    }

    fn flush_chunk(&mut self) -> Result<(), Error> {
        if self.frames_in_chunk == 0 && self.checksums.is_empty() {
            return Ok(());
        }
        self.body[4..6].copy_from_slice(&self.frames_in_chunk.to_le_bytes());
        self.body.put_u16(self.checksums.len() as u16);
        for &(f, c) in &self.checksums {
            self.body.put_u32(f);
            self.body.put_u64(c);
        }
        self.checksums.clear();
        let mut head = [0u8; 5];
        head[0] = CHUNK_FRAMES;
        head[1..5].copy_from_slice(&(self.body.len() as u32).to_le_bytes());
        let crc = crc32(crc32(0, &head), &self.body);
        self.out.write_all(&head)?;
        self.out.write_all(&self.body)?;
        self.out.write_all(&crc.to_le_bytes())?;
        self.bytes_written += 5 + self.body.len() as u64 + 4;
        self.chunks_written += 1;
        self.digest = crc32(self.digest, &crc.to_le_bytes());
        self.start_chunk();
        Ok(())
    }
}
