#![no_main]

#[path = "log_reader_fixed_crc_body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
