//! Replays the committed corpora of the network fuzz targets (fuzz/corpus/<target>/) through the
//! targets' bodies, so every input that once mattered to a fuzzer is checked by a plain `cargo test`.

#[path = "../../fuzz/fuzz_targets/netcode_body.rs"]
mod netcode;
#[path = "../../fuzz/fuzz_targets/sync_msg_body.rs"]
mod sync_msg;

use framelock_testkit::replay_corpus;

#[test]
fn netcode_server_corpus() {
    replay_corpus("netcode_server", 3, netcode::server);
}

#[test]
fn netcode_client_corpus() {
    replay_corpus("netcode_client", 3, netcode::client);
}

#[test]
fn connect_token_corpus() {
    replay_corpus("connect_token", 3, netcode::token_parse);
}

#[test]
fn sync_msg_corpus() {
    replay_corpus("sync_msg", 3, sync_msg::run);
}
