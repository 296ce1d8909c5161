//! Replays the committed corpora of the network fuzz targets (fuzz/corpus/<target>/) through the
//! targets' bodies, so every input that once mattered to a fuzzer is checked by a plain `cargo test`.

#[path = "../../fuzz/fuzz_targets/netcode_body.rs"]
mod netcode;
#[path = "../../fuzz/fuzz_targets/sync_msg_body.rs"]
mod sync_msg;

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read(&p).expect("corpus file"))).collect()
}

fn replay(target: &str, run: fn(&[u8])) {
    let inputs = corpus(target);
    assert!(inputs.len() >= 3, "the {target} corpus is committed");
    for (name, data) in inputs {
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{name} makes the {target} target panic");
    }
}

#[test]
fn netcode_server_corpus() {
    replay("netcode_server", netcode::server);
}

#[test]
fn netcode_client_corpus() {
    replay("netcode_client", netcode::client);
}

#[test]
fn connect_token_corpus() {
    replay("connect_token", netcode::token_parse);
}

#[test]
fn sync_msg_corpus() {
    replay("sync_msg", sync_msg::run);
}
