//! `framelock load` end to end: a few clients against the in-process relay, then the echo.
#![allow(clippy::unwrap_used)]

#[test]
fn load_connects_plays_and_compares_with_the_echo() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_framelock"))
        .args(["load", "--clients", "8", "--room-size", "4", "--tick-rate", "30", "--seconds", "1", "--warmup", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "connected: 8/8",
        "8 clients connected at the end",
        "relay CPU per datagram / echo's:",
        "frame-close lateness: p50",
        "drops: relay netcode 0",
        "rooms agreeing: 2/2; desyncs found by the relay 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // Both phases moved datagrams both ways.
    for prefix in ["relay: ", "echo:  "] {
        let line = text.lines().find(|l| l.starts_with(prefix)).unwrap();
        let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).take(2).collect();
        assert!(numbers.len() == 2 && numbers.iter().all(|&n| n > 100), "{line}");
    }
}
