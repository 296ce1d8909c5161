#![no_main]

#[path = "netcode_body.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::token_parse(data));
