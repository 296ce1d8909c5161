// The body of the `log_reader_fixed_crc` fuzz target, shared with `core/tests/fuzz_corpus.rs`.
//
// Almost every mutation of a log breaks a CRC, so the raw `log_reader` target mostly exercises the
// CRC-mismatch path. This one first recomputes the header's and every whole chunk's CRC, and the
// end chunk's digest, so mutations reach the field decoders, the consistency checks and the replay
// (issue 14's checksum-interval overflow was found this way in about 1,000 executions).

#![allow(dead_code)]

#[path = "log_reader_body.rs"]
pub mod raw;

/// `data` with every CRC (and the end chunk's digest) made to match.
pub fn fix_crcs(data: &[u8]) -> Vec<u8> {
    let mut b = data.to_vec();
    if b.len() < 16 {
        return b;
    }
    let header_len = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
    let Some(crc_at) = 16usize.checked_add(header_len).filter(|&e| e + 4 <= b.len()) else { return b };
    let crc = framelock_core::replay::crc32(0, &b[..crc_at]);
    b[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    let mut digest = framelock_core::replay::crc32(0, &crc.to_le_bytes());
    let mut off = crc_at + 4;
    while off + 5 <= b.len() {
        let body_len = u32::from_le_bytes([b[off + 1], b[off + 2], b[off + 3], b[off + 4]]) as usize;
        let Some(end) = (off + 5).checked_add(body_len).filter(|&e| e + 4 <= b.len()) else { break };
        if b[off] == 3 && body_len == 16 {
            b[off + 17..off + 21].copy_from_slice(&digest.to_le_bytes());
        }
        let crc = framelock_core::replay::crc32(0, &b[off..end]);
        b[end..end + 4].copy_from_slice(&crc.to_le_bytes());
        digest = framelock_core::replay::crc32(digest, &crc.to_le_bytes());
        off = end + 4;
    }
    b
}

pub fn run(data: &[u8]) {
    raw::run(&fix_crcs(data));
}
