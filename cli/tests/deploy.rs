//! The deployment manifests in `deploy/` hold together: plain YAML (no tabs, each document with an
//! `apiVersion` and a `kind`), the UDP game port and both probes are declared, the grace period
//! outlasts the relay's drain, and the relay accepts the arguments the fleet starts it with.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn manifest(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of the first `key: value` line (trimmed, unquoted).
fn value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap_or_else(|| panic!("no {key}"))
}

/// The items of the block list under the first `key:` line (`- item` lines, unquoted).
fn list(text: &str, key: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}:")).skip(1);
    let mut out = Vec::new();
    for l in lines.by_ref() {
        match l.trim().strip_prefix("- ") {
            Some(item) => out.push(item.trim().trim_matches('"').to_string()),
            None => break,
        }
    }
    out
}

#[test]
fn manifests_are_plain_yaml_documents() {
    for name in ["fleet.yaml", "allocation.yaml"] {
        let text = manifest(name);
        assert!(!text.contains('\t'), "{name}: tabs are not YAML indentation");
        for doc in text.split("\n---") {
            assert!(doc.lines().any(|l| l.starts_with("apiVersion: ")), "{name}: a document without apiVersion");
            assert!(doc.lines().any(|l| l.starts_with("kind: ")), "{name}: a document without kind");
        }
        for (i, l) in text.lines().enumerate() {
            let indent = l.len() - l.trim_start().len();
            assert!(indent % 2 == 0, "{name}:{}: odd indentation", i + 1);
        }
    }
}

#[test]
fn the_fleet_declares_the_game_port_and_probes_and_outlasts_the_drain() {
    let fleet = manifest("fleet.yaml");
    assert_eq!(value(&fleet, "kind"), "Fleet");
    assert_eq!(value(&fleet, "protocol"), "UDP");
    assert!(fleet.contains("path: /healthz") && fleet.contains("path: /readyz"));
    let args = list(&fleet, "args");
    let drain: u64 =
        args.iter().skip_while(|a| *a != "--drain-secs").nth(1).expect("--drain-secs").parse().expect("secs");
    let grace: u64 = value(&fleet, "terminationGracePeriodSeconds").parse().expect("secs");
    assert!(grace > drain, "terminationGracePeriodSeconds {grace} must outlast --drain-secs {drain}");
    assert_eq!(value(&manifest("allocation.yaml"), "kind"), "GameServerAllocation");
    let script = manifest("agones-relay.sh");
    assert!(script.contains(&format!("GAME_PORT:-{}", value(&fleet, "containerPort"))));

    // The relay starts with exactly these arguments (the script adds the addresses and key).
    let dir = std::env::temp_dir().join(format!("framelock-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("relay.key");
    let framelock = env!("CARGO_BIN_EXE_framelock");
    assert!(Command::new(framelock).arg("key").arg("--out").arg(&key).status().expect("key").success());
    let args: Vec<String> =
        args.into_iter().map(|a| if a == "/recordings" { dir.join("rec").display().to_string() } else { a }).collect();
    let mut relay = Command::new(framelock)
        .args(["serve", "--listen", "0.0.0.0:0", "--public-address", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
        .arg("--key-file")
        .arg(&key)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let first = BufReader::new(relay.stdout.take().expect("stdout")).lines().next();
    let _ = relay.kill();
    let out = relay.wait_with_output().expect("serve");
    let first = first.and_then(Result::ok).unwrap_or_default();
    assert!(first.starts_with("listening on "), "{first} {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
