//! Real sockets on loopback, no relay: two `framelock p2p` players and a spectator through the link
//! conditioner agree at frame 3,000; `framelock demo --p2p` plays the same over threads.

use std::process::{Command, Output, Stdio};

fn framelock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framelock"))
}

/// Free loopback UDP ports (bound and released: another process could take one meanwhile, rarely).
fn free_ports(n: usize) -> Vec<u16> {
    let sockets: Vec<_> = (0..n).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind")).collect();
    sockets.iter().map(|s| s.local_addr().expect("addr").port()).collect()
}

fn checksum_line(out: &Output, who: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{who} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{who}: frame 3000 checksum ")))
        .unwrap_or_else(|| panic!("{who} printed no checksum: {stdout}"))
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn two_p2p_processes_and_a_spectator_through_the_link_conditioner_agree_at_frame_3000() {
    let dir = std::env::temp_dir().join(format!("framelock-p2p-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("key.hex");
    assert!(framelock().arg("key").arg("--out").arg(&key).status().expect("key").success());
    let p = free_ports(3);
    let a = |i: usize| format!("127.0.0.1:{}", p[i]);
    let common = |c: &mut Command| {
        c.arg("--key-file").arg(&key).args(["--frames", "3000", "--tick-rate", "250", "--auto-time-sync"]).args([
            "--latency",
            "10",
            "--jitter",
            "3",
            "--loss",
            "0.05",
            "--duplicate",
            "0.02",
            "--reorder",
            "0.02",
        ]);
    };
    let mut cmds = [framelock(), framelock(), framelock()];
    cmds[0].args(["p2p", "--listen", &a(0), "--local-slot", "0", "--peer", &format!("1={}", a(1))]);
    cmds[0].args(["--spectator", &a(2)]);
    cmds[1].args(["p2p", "--listen", &a(1), "--local-slot", "1", "--peer", &format!("0={}", a(0))]);
    cmds[2].args(["p2p", "--listen", &a(2), "--spectate", &a(0), "--players", "2"]);
    let children: Vec<_> = cmds
        .iter_mut()
        .map(|c| {
            common(c);
            c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
    let sums =
        [checksum_line(&outs[0], "p2p 0"), checksum_line(&outs[1], "p2p 1"), checksum_line(&outs[2], "spectator")];
    assert!(sums[0].starts_with("0x") && sums.iter().all(|s| *s == sums[0]), "{sums:?}");
    let stdout = String::from_utf8_lossy(&outs[0].stdout);
    assert!(stdout.contains(&format!("peer {} rtt", a(1))) && stdout.contains("lost"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_p2p_plays_two_peers_and_a_spectator_over_loopback() {
    let out = framelock()
        .args(["demo", "--p2p", "--frames", "300", "--tick-rate", "120", "--latency-ms", "20", "--jitter-ms", "5"])
        .output()
        .expect("demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("checksums agree: 2 players and the spectator at frame 300"), "{stdout}");
}
