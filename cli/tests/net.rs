//! Real sockets on loopback: a relay (`framelock serve`, two workers on one port) and four bots
//! (`framelock bot`) through the link conditioner, all at the same checksum at frame 1,000; then the
//! relay exits on its own and its recording of the room verifies.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn framelock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framelock"))
}

/// A scratch folder for one test, with a fresh relay key in it.
fn scratch_with_key(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("framelock-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("key.hex");
    assert!(framelock().arg("key").arg("--out").arg(&key).status().expect("key").success());
    (dir, key)
}

/// Waits up to `secs` for `child` to exit (killing it and failing the test after that).
fn wait_exit(child: &mut std::process::Child, secs: u64, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("child") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not exit within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `framelock replay verify` succeeds on `log`.
fn assert_verifies(log: &std::path::Path) {
    let verify = framelock().args(["replay", "verify"]).arg(log).output().expect("verify");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Sends SIGTERM to `child`.
fn sigterm(child: &std::process::Child) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill").success());
}

#[test]
fn four_bots_through_a_relay_on_loopback_agree_at_frame_1000() {
    let (dir, key) = scratch_with_key("net-test");

    let mut relay = framelock()
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "2", "--tick-rate", "120", "--exit-when-empty"])
        .arg("--key-file")
        .arg(&key)
        .arg("--record-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let addr = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the relay prints its address")
        .to_string();

    let bots: Vec<_> = (0..4u8)
        .map(|slot| {
            let token = dir.join(format!("token{slot}.bin"));
            let made = framelock()
                .args(["token", "--server", &addr, "--room", "5", "--slot", &slot.to_string()])
                .args(["--client-id", &(100 + u64::from(slot)).to_string(), "--key-file"])
                .arg(&key)
                .arg("--out")
                .arg(&token)
                .output()
                .expect("token");
            assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
            framelock()
                .args(["bot", "--slot", &slot.to_string(), "--tick-rate", "120", "--frames", "1000"])
                .args([
                    "--loss",
                    "0.05",
                    "--latency",
                    "20",
                    "--jitter",
                    "10",
                    "--duplicate",
                    "0.05",
                    "--reorder",
                    "0.02",
                ])
                .arg("--token")
                .arg(&token)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bot")
        })
        .collect();
    let mut checksums = Vec::new();
    for bot in bots {
        let out = bot.wait_with_output().expect("bot ran");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            let _ = relay.kill();
            panic!("bot failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        }
        let checksum = stdout.split("checksum ").nth(1).expect("a checksum line").trim().to_string();
        checksums.push(checksum);
    }
    assert!(checksums.iter().all(|c| *c == checksums[0]), "{checksums:?}");
    // Every bot left: the relay exits by itself (`--exit-when-empty`) and reports.
    assert!(wait_exit(&mut relay, 30, "the relay (after its clients left)").success());
    let report: Vec<String> = lines.map_while(Result::ok).collect();
    // Room 5 lives on worker 1 (5 % 2), whichever worker each bot's datagrams reached.
    assert!(report.iter().any(|l| l.starts_with("worker 1: rooms [5], connects 4")), "{report:?}");
    // The relay recorded the room; the recording replays to the checksums the bots agreed on.
    let log = dir.join("room-5.flog");
    assert!(report.iter().any(|l| l.contains("room-5.flog")), "{report:?}");
    assert_verifies(&log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_relay_shuts_down_gracefully_on_sigterm() {
    let (dir, key) = scratch_with_key("sigterm-test");
    let mut relay = framelock()
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--loss", "0.01", "--latency", "5"])
        .arg("--key-file")
        .arg(&key)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    assert!(lines.next().expect("a line").expect("utf-8").starts_with("listening on "));
    let metrics = line_after(&mut lines, "metrics on http://");
    let metrics = metrics.split('/').next().expect("the metrics address is printed").to_string();
    // The page is rendered about once a second: scrape until it has content.
    let mut page = String::new();
    for _ in 0..50 {
        let mut conn = std::net::TcpStream::connect(&metrics).expect("metrics listener");
        std::io::Write::write_all(&mut conn, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").expect("request");
        page.clear();
        std::io::Read::read_to_string(&mut conn, &mut page).expect("response");
        if page.contains("framelock_connections 0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    for m in [
        "framelock_connections 0",
        "framelock_tick_duration_microseconds_bucket{le=\"+Inf\"}",
        "framelock_heap_allocations_total",
        "framelock_dropped_packets_total{reason=\"Replayed\"} 0",
    ] {
        assert!(page.contains(m), "{m} missing from\n{page}");
    }
    sigterm(&relay);
    assert!(wait_exit(&mut relay, 5, "the relay (after SIGTERM)").success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.starts_with("shutting down")), "{rest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_plays_over_loopback_and_records_the_room() {
    let (dir, _) = scratch_with_key("demo-net");
    let log = dir.join("match.flog");
    let out = framelock()
        .args(["demo", "--players", "3", "--frames", "240", "--latency-ms", "20", "--jitter-ms", "5"])
        .arg("--record")
        .arg(&log)
        .output()
        .expect("demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("checksums agree: 3/3 bots at frame 240"), "{stdout}");
    assert_verifies(&log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_runs_several_workers_on_one_port_and_stops_on_sigterm() {
    let (dir, key) = scratch_with_key("workers-test");
    let mut relay = framelock()
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "3", "--key-file"])
        .arg(&key)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    assert!(first.starts_with("listening on ") && first.ends_with("(3 workers)"), "{first}");
    sigterm(&relay);
    assert!(wait_exit(&mut relay, 5, "the relay (after SIGTERM)").success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(rest.iter().filter(|l| l.starts_with("worker ")).count(), 3, "{rest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `framelock serve` on loopback with `extra` options; returns it, its address and the rest
/// of its output.
fn serve(
    key: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut relay =
        framelock().args(["serve", "--key-file"]).arg(key).args(extra).stdout(Stdio::piped()).spawn().expect("serve");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let addr = first
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the relay prints its address: {first}"))
        .to_string();
    (relay, addr, lines)
}

/// Writes a token for `slot` of `room` at `server` (connections time out after `timeout` s).
fn token(
    dir: &std::path::Path,
    key: &std::path::Path,
    server: &str,
    room: u64,
    slot: u8,
    id: u64,
    timeout: u32,
) -> std::path::PathBuf {
    let path = dir.join(format!("token-{room}-{slot}-{id}.bin"));
    let made = framelock()
        .args(["token", "--server", server, "--room", &room.to_string(), "--slot", &slot.to_string()])
        .args(["--client-id", &id.to_string(), "--timeout", &timeout.to_string(), "--key-file"])
        .arg(key)
        .arg("--out")
        .arg(&path)
        .output()
        .expect("token");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    path
}

fn bot(token: &std::path::Path, slot: u8, players: u8, frames: u32) -> std::process::Child {
    framelock()
        .args(["bot", "--slot", &slot.to_string(), "--players", &players.to_string(), "--tick-rate", "60"])
        .args(["--frames", &frames.to_string(), "--token"])
        .arg(token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bot")
}

#[test]
fn a_bot_says_goodbye_without_a_link_conditioner_and_a_taken_slot_is_denied() {
    let (dir, key) = scratch_with_key("goodbye-test");
    let (mut relay, addr, lines) =
        serve(&key, &["--listen", "127.0.0.1:0", "--players", "2", "--tick-rate", "60", "--exit-when-empty"]);
    // Connections time out after 60 s: the relay sees the bot leave only through its goodbye.
    let first = bot(&token(&dir, &key, &addr, 3, 0, 1, 60), 0, 2, 240);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let second = bot(&token(&dir, &key, &addr, 3, 0, 2, 60), 0, 2, 240).wait_with_output().expect("bot");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(stderr.contains("the relay refused the connection"), "{stderr}");
    let out = first.wait_with_output().expect("bot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_exit(&mut relay, 15, "the relay (after the bot's goodbye)").success());
    let report: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        report.iter().any(|l| l.starts_with("relay done:") && l.contains("connects 1, disconnects 1")),
        "{report:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bot_whose_match_ends_first_says_the_relay_ended_it() {
    let (dir, key) = scratch_with_key("match-end-test");
    let rooms = dir.join("rooms");
    let rooms_arg = rooms.to_str().expect("utf-8 path");
    let (mut relay, addr, _lines) = serve(
        &key,
        &["--listen", "127.0.0.1:0", "--players", "1", "--tick-rate", "60", "--exit-when-empty"]
            .into_iter()
            .chain(["--match-frames", "60", "--record-dir", rooms_arg])
            .collect::<Vec<_>>(),
    );
    let out = bot(&token(&dir, &key, &addr, 4, 0, 1, 5), 0, 1, 6_000).wait_with_output().expect("bot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("the relay ended the connection (the relay said goodbye"), "{stderr}");
    assert!(!stderr.contains("could not connect"), "{stderr}");
    assert!(wait_exit(&mut relay, 15, "the relay").success());
    // The recording holds exactly the match, and was finished when the room was freed.
    let bytes = std::fs::read(rooms.join("room-4.flog")).expect("the recording");
    let log = framelock_core::replay::LogReader::parse(&bytes).expect("the recording reads");
    assert_eq!(log.frames(), 60);
    assert_verifies(&rooms.join("room-4.flog"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The HTTP response to `GET path` from the metrics listener at `addr`.
fn http_get(addr: &str, path: &str) -> String {
    let mut conn = std::net::TcpStream::connect(addr).expect("metrics listener");
    std::io::Write::write_all(&mut conn, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("request");
    let mut page = String::new();
    std::io::Read::read_to_string(&mut conn, &mut page).expect("response");
    page
}

/// The next line of `lines` that starts with `prefix`, with the prefix removed.
fn line_after(lines: &mut impl Iterator<Item = std::io::Result<String>>, prefix: &str) -> String {
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    panic!("no line starting with {prefix}");
}

#[test]
fn a_relay_on_a_wildcard_address_plays_through_its_public_addresses() {
    let (dir, key) = scratch_with_key("wildcard-test");
    // Without a public address a wildcard cannot be named in tokens: refused with the reason.
    let out = framelock().args(["serve", "--listen", "0.0.0.0:0", "--key-file"]).arg(&key).output().expect("serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--public-address"), "{out:?}");

    // 0.0.0.0, one worker, played through 127.0.0.1 (port 0: the bound port).
    let (mut relay, addr, mut lines) = serve(
        &key,
        &["--listen", "0.0.0.0:0", "--public-address", "127.0.0.1:0", "--players", "1", "--tick-rate", "60"],
    );
    let port = addr.rsplit(':').next().expect("port").to_string();
    assert_eq!(line_after(&mut lines, "public at "), format!("127.0.0.1:{port}"));
    let out =
        bot(&token(&dir, &key, &format!("127.0.0.1:{port}"), 1, 0, 1, 5), 0, 1, 120).wait_with_output().expect("bot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = relay.kill();
    let _ = relay.wait();

    // [::], two workers, public at 127.0.0.1 and [::1]: a bot through each.
    let (mut relay, addr, mut lines) = serve(
        &key,
        &["--listen", "[::]:0", "--workers", "2", "--public-address", "127.0.0.1:0", "--public-address", "[::1]:0"],
    );
    let port = addr.rsplit(':').next().expect("port").to_string();
    assert_eq!(line_after(&mut lines, "public at "), format!("127.0.0.1:{port}, [::1]:{port}"));
    let bots: Vec<_> = [(2, "127.0.0.1"), (3, "[::1]")]
        .iter()
        .map(|&(room, host)| {
            let t = token(&dir, &key, &format!("{host}:{port}"), room, 0, room, 5);
            framelock()
                .args(["bot", "--slot", "0", "--players", "4", "--frames", "90", "--token"])
                .arg(t)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bot")
        })
        .collect();
    for b in bots {
        let out = b.wait_with_output().expect("bot");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let _ = relay.kill();
    let _ = relay.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_drains_rooms_and_readyz_says_so_then_a_second_signal_exits_at_once() {
    let (dir, key) = scratch_with_key("drain-test");
    let (mut relay, addr, mut lines) =
        serve(&key, &["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--players", "1", "--tick-rate", "60"]);
    let _ = line_after(&mut lines, "public at ");
    let metrics = line_after(&mut lines, "metrics on http://");
    let metrics = metrics.split('/').next().expect("address").to_string();
    assert!(http_get(&metrics, "/healthz").starts_with("HTTP/1.1 200 OK"));
    assert!(http_get(&metrics, "/readyz").starts_with("HTTP/1.1 200 OK"));

    // Room 1 plays 300 frames (5 s); the relay is told to stop 1.5 s into it.
    let playing = bot(&token(&dir, &key, &addr, 1, 0, 1, 5), 0, 1, 300);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    sigterm(&relay);
    assert!(line_after(&mut lines, "draining: ").starts_with("1 rooms open"));
    let readyz = http_get(&metrics, "/readyz");
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    assert!(http_get(&metrics, "/healthz").starts_with("HTTP/1.1 200 OK"));
    // No new room while draining: refused with a denial, counted.
    let refused = bot(&token(&dir, &key, &addr, 2, 0, 2, 5), 0, 1, 60).wait_with_output().expect("bot");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused the connection"));
    let page = http_get(&metrics, "/metrics");
    assert!(page.contains("framelock_refused_connections_total{reason=\"draining\"}"), "{page}");
    // The running room finishes; then the relay exits by itself.
    let out = playing.wait_with_output().expect("bot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_exit(&mut relay, 10, "the drained relay").success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "shutting down: telling 0 clients"), "{rest:?}");

    // A second signal does not wait for the running room.
    let (mut relay, addr, mut lines) =
        serve(&key, &["--listen", "127.0.0.1:0", "--players", "1", "--drain-secs", "60"]);
    let long = bot(&token(&dir, &key, &addr, 1, 0, 1, 5), 0, 1, 100_000);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    sigterm(&relay);
    assert!(line_after(&mut lines, "draining: ").starts_with("1 rooms open"));
    assert!(Command::new("kill").args(["-INT", &relay.id().to_string()]).status().expect("kill").success());
    assert!(wait_exit(&mut relay, 5, "the relay (after a second signal)").success());
    assert!(line_after(&mut lines, "shutting down at once").contains("telling 1 clients"));
    let out = long.wait_with_output().expect("bot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the relay ended the connection (the relay said goodbye"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Open file descriptors and resident memory (KiB) of process `pid` (Linux `/proc`).
fn fds_and_rss(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("/proc fd").count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    (fds, rss)
}

/// Plays `rooms` one-player rooms with fresh ids, four at a time, 30 frames each.
fn play_rooms(dir: &std::path::Path, key: &std::path::Path, addr: &str, ids: std::ops::Range<u64>) {
    let ids: Vec<u64> = ids.collect();
    for batch in ids.chunks(4) {
        let bots: Vec<_> = batch.iter().map(|&id| bot(&token(dir, key, addr, id, 0, id, 5), 0, 1, 30)).collect();
        for b in bots {
            let out = b.wait_with_output().expect("bot");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

#[test]
fn rooms_with_fresh_ids_are_freed_and_the_relay_returns_to_its_file_descriptors_and_memory() {
    let (dir, key) = scratch_with_key("churn-test");
    let rooms = dir.join("rooms");
    let (mut relay, addr, _lines) = serve(
        &key,
        &["--listen", "127.0.0.1:0", "--players", "1", "--tick-rate", "60", "--room-idle-secs", "0", "--record-dir"]
            .into_iter()
            .chain([rooms.to_str().expect("utf-8 path")])
            .collect::<Vec<_>>(),
    );
    let settle = || std::thread::sleep(std::time::Duration::from_millis(300));
    play_rooms(&dir, &key, &addr, 1..9);
    settle();
    let (fds, rss) = fds_and_rss(relay.id());
    play_rooms(&dir, &key, &addr, 100..148);
    settle();
    let (fds_after, rss_after) = fds_and_rss(relay.id());
    eprintln!("relay: {fds} -> {fds_after} open fds, {rss} -> {rss_after} KiB resident");
    // Every room's recording was finished and closed when its room was freed.
    assert_eq!(fds_after, fds, "open file descriptors");
    assert_eq!(std::fs::read_dir(&rooms).expect("rooms").count(), 56);
    // 48 rooms and recordings (about 200 KiB each) leaked would be about 10 MiB.
    assert!(rss_after < rss + 3 * 1024, "resident memory {rss} KiB before, {rss_after} KiB after");
    let _ = relay.kill();
    let _ = relay.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_relay_killed_mid_match_loses_at_most_about_a_second_of_its_recording() {
    let (dir, key) = scratch_with_key("sigkill-test");
    let rooms = dir.join("rooms");
    let (mut relay, addr, _lines) = serve(
        &key,
        &["--listen", "127.0.0.1:0", "--players", "1", "--tick-rate", "60", "--record-dir"]
            .into_iter()
            .chain([rooms.to_str().expect("utf-8 path")])
            .collect::<Vec<_>>(),
    );
    let playing = bot(&token(&dir, &key, &addr, 9, 0, 1, 2), 0, 1, 100_000);
    std::thread::sleep(std::time::Duration::from_secs(5));
    relay.kill().expect("SIGKILL");
    let _ = relay.wait();
    // The bot notices the relay is gone and says how far its frames were final.
    let out = playing.wait_with_output().expect("bot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the relay stopped answering"), "{stderr}");
    let final_frames: u32 = stderr
        .split("with frames below ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(final_frames > 120, "{final_frames} frames in 5 s at 60 Hz");
    // The recording reads up to its last whole chunk: every second (60 frames) reached the file.
    let bytes = std::fs::read(rooms.join("room-9.flog")).expect("the recording");
    let log = framelock_core::replay::LogReader::parse(&bytes).expect("a readable, truncated recording");
    let recorded = log.frames();
    eprintln!("relay killed: the bot had {final_frames} final frames, the recording holds {recorded}");
    assert!(recorded <= final_frames + 10, "{recorded} recorded, {final_frames} played");
    assert!(final_frames - recorded <= 60 + 10, "{recorded} recorded, {final_frames} played: more than a second lost");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_drains_a_relay_with_several_workers() {
    let (dir, key) = scratch_with_key("drain-workers-test");
    let (mut relay, addr, mut lines) = serve(
        &key,
        &["--listen", "127.0.0.1:0", "--workers", "2", "--players", "1", "--tick-rate", "60", "--drain-secs", "30"],
    );
    let playing = bot(&token(&dir, &key, &addr, 7, 0, 1, 5), 0, 1, 240);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    sigterm(&relay);
    let _ = line_after(&mut lines, "draining: ");
    // The relay waits for the running room: its bot finishes, and only then the relay exits.
    let out = playing.wait_with_output().expect("bot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_exit(&mut relay, 10, "the drained relay").success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.starts_with("worker 1: rooms [], connects 1")), "{rest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
