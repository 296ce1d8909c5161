// A C++ mini engine over framelock.hpp, with its own game state (not the reference simulation).
//
// Two "machines" run in one process: peer A owns slot 0, peer B owns slot 1. Each runs a rollback
// session over its own copy of the game; inputs and checksums travel between them over an
// in-memory link that delays every packet by a few ticks, so each peer predicts the other, rolls
// back and resimulates. Peer A records an input log of the match; after the match the log is
// opened and verified by replaying it into a fresh game, and the engine seeks into it.
//
// The game: a handful of balls on a 256x256 field in integer arithmetic; each player steers one
// paddle-ball with its input (dx, dy in -1..1 packed into one byte), the others bounce around.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "framelock.hpp"

namespace {

constexpr std::uint32_t kPlayers = 2;
constexpr std::uint32_t kFrames = 600;
constexpr std::uint32_t kDelay = 4; // ticks a packet spends on the link
constexpr int kField = 256 * 16;    // 1/16 units

struct Ball {
    std::int32_t x, y, vx, vy;
};

// The engine's game state: plain data, saved by memcpy into framelock's snapshot buffers.
struct GameState {
    std::uint32_t frame;
    std::uint32_t rng;
    Ball balls[6];
    std::int32_t score[kPlayers];
};

class Game {
public:
    Game() {
        std::memset(&s_, 0, sizeof s_);
        s_.rng = 12345;
        for (int i = 0; i < 6; i++) {
            s_.balls[i] = Ball{(i + 1) * 500, (6 - i) * 500, 17 * (i + 1) - 50, 23 - 9 * i};
        }
    }

    // framelock callbacks (see framelock::Session::advance_with).
    void save(std::uint32_t frame, framelock::Snapshot &snap) {
        if (frame != s_.frame) throw std::logic_error("save of a frame the game is not at");
        snap.write(&s_, sizeof s_);
    }
    void load(std::uint32_t frame, const std::uint8_t *data, std::size_t len) {
        if (len != sizeof s_) throw std::runtime_error("snapshot of another game");
        std::memcpy(&s_, data, sizeof s_);
        if (s_.frame != frame) throw std::logic_error("loaded the wrong frame");
    }
    void advance(std::uint32_t frame, const framelock_input *inputs, std::size_t count) {
        if (frame != s_.frame) throw std::logic_error("advance of a frame the game is not at");
        for (std::size_t i = 0; i < count && i < kPlayers; i++) {
            std::uint8_t b = inputs[i].len > 0 ? inputs[i].bytes[0] : 0x11; // neutral
            Ball &p = s_.balls[inputs[i].slot];
            p.vx += (b & 0x0f) - 1;
            p.vy += (b >> 4) - 1;
        }
        for (Ball &b : s_.balls) {
            b.x += b.vx;
            b.y += b.vy;
            if (b.x < 0 || b.x >= kField) {
                b.vx = -b.vx;
                b.x = b.x < 0 ? 0 : kField - 1;
                s_.score[frame % kPlayers]++;
            }
            if (b.y < 0 || b.y >= kField) {
                b.vy = -b.vy;
                b.y = b.y < 0 ? 0 : kField - 1;
            }
        }
        s_.rng = s_.rng * 1664525u + 1013904223u;
        s_.frame++;
    }

    const GameState &state() const { return s_; }

private:
    GameState s_;
};

// What a peer sends: its input for a frame, or its checksum of a frame.
struct Packet {
    std::uint32_t deliver_at;
    bool is_checksum;
    std::uint32_t frame;
    std::uint8_t input;
    std::uint8_t len; // 0: the default (empty) input
    std::uint64_t checksum;
};

// The input a player "presses" at a frame: deterministic, changes every few frames.
std::uint8_t pad(std::uint32_t slot, std::uint32_t frame) {
    std::uint32_t h = (frame / (5 + slot * 3)) * 2654435761u + slot * 97u;
    return static_cast<std::uint8_t>(((h >> 7) % 3) | (((h >> 13) % 3) << 4));
}

struct Peer {
    std::uint32_t slot;
    framelock::Session session;
    Game game;
    std::deque<Packet> inbox;
    std::uint32_t checksum_sent_until = 0;
    std::uint64_t desyncs = 0;
};

framelock::SessionConfig peer_config(std::uint32_t slot, bool record) {
    framelock::SessionConfig cfg;
    cfg.slots = kPlayers;
    cfg.local_slots = 1ull << slot;
    cfg.mode = FRAMELOCK_MODE_ROLLBACK;
    cfg.max_prediction = 12;
    cfg.max_input_size = 1;
    cfg.input_delay = 1;
    cfg.max_snapshot_size = sizeof(GameState);
    cfg.record_confirmed = record;
    return cfg;
}

// One tick of one peer: receive what arrived, add the local input, advance, send.
void tick(Peer &me, Peer &other, std::uint32_t now) {
    while (!me.inbox.empty() && me.inbox.front().deliver_at <= now) {
        Packet p = me.inbox.front();
        me.inbox.pop_front();
        if (p.is_checksum) {
            me.session.add_remote_checksum(other.slot, p.frame, p.checksum);
        } else {
            me.session.add_remote_input(other.slot, p.frame, &p.input, p.len);
        }
    }
    if (now == 0) {
        // The first input_delay frames of a local slot hold the default input: tell the peer.
        for (std::uint32_t f = 0; f < me.session.info().input_delay; f++) {
            other.inbox.push_back(Packet{now + kDelay, false, f, 0, 0, 0});
        }
    }
    std::uint8_t in = pad(me.slot, now);
    framelock_session_info info = me.session.info();
    if (info.current_frame < kFrames) {
        // The input goes to frame current + input_delay: the match ends at kFrames.
        if (info.current_frame + info.input_delay < kFrames) {
            std::uint32_t frame = me.session.add_local_input(me.slot, &in, 1);
            if (frame != FRAMELOCK_NO_FRAME) other.inbox.push_back(Packet{now + kDelay, false, frame, in, 1, 0});
        }
        me.session.advance_with(me.game);
    }
    // Send the checksums of newly final frames, every 10th frame.
    info = me.session.info();
    for (; me.checksum_sent_until < info.checksummed_until; me.checksum_sent_until++) {
        std::uint32_t f = me.checksum_sent_until;
        if (f % 10 != 0) continue;
        if (auto c = me.session.checksum(f)) other.inbox.push_back(Packet{now + kDelay, true, f, 0, 0, *c});
    }
    while (auto e = me.session.poll_event()) {
        if (e->kind == FRAMELOCK_EVENT_DESYNC) {
            std::fprintf(stderr, "peer %u: desync at frame %u\n", me.slot, e->frame);
            me.desyncs++;
        }
    }
}

int run() {
    std::printf("framelock %s: two rollback peers, %u ticks of link delay\n", framelock::version().c_str(), kDelay);
    Peer a{0, framelock::Session(peer_config(0, true)), Game(), {}};
    Peer b{1, framelock::Session(peer_config(1, false)), Game(), {}};

    const std::string path = "mini_engine.flog";
    framelock::LogConfig lc;
    lc.slots = kPlayers;
    lc.max_input_size = 1;
    lc.mode = FRAMELOCK_MODE_ROLLBACK;
    lc.mode_depth = 12;
    lc.checksum_interval = 30;
    lc.simulation = "mini_engine";
    lc.creator = "examples/cpp/mini_engine";
    framelock::LogWriter log(lc, path);

    // Run until both peers have every frame confirmed (the link drains after the last input).
    for (std::uint32_t now = 0; now < kFrames + 4 * kDelay; now++) {
        tick(a, b, now);
        tick(b, a, now);
        log.record_session(a.session);
    }
    log.finish();

    framelock_stats sa = a.session.stats(), sb = b.session.stats();
    std::printf("peer A: %llu frames, %llu rollbacks (longest %u), %llu resimulated, %llu checksums compared\n",
                (unsigned long long)sa.frames_advanced, (unsigned long long)sa.rollbacks, sa.max_rollback,
                (unsigned long long)sa.frames_resimulated, (unsigned long long)sa.checksums_compared);
    std::printf("peer B: %llu frames, %llu rollbacks (longest %u), %llu checksums compared\n",
                (unsigned long long)sb.frames_advanced, (unsigned long long)sb.rollbacks, sb.max_rollback,
                (unsigned long long)sb.checksums_compared);
    if (std::memcmp(&a.game.state(), &b.game.state(), sizeof(GameState)) != 0) {
        std::fprintf(stderr, "the two peers ended in different states\n");
        return 1;
    }
    if (a.desyncs + b.desyncs != 0 || sa.rollbacks == 0 || sa.checksums_compared == 0) {
        std::fprintf(stderr, "expected rollbacks, compared checksums and no desync\n");
        return 1;
    }
    auto last = a.session.checksum(kFrames - 10);
    std::printf("both peers at frame %u, checksum of frame %u: %016llx\n", a.game.state().frame, kFrames - 10,
                last ? (unsigned long long)*last : 0ull);

    // Replay the log into a fresh game: every recorded checksum must match.
    framelock::Log replay = framelock::Log::open(path);
    framelock_log_info li = replay.info();
    Game fresh;
    framelock_verify_report rep = replay.verify(fresh, sizeof(GameState));
    std::printf("log: %u frames, %u checksums; replay verified %u, unchecked %u\n", li.frames, li.checksums,
                rep.checksums_verified, rep.checksums_unchecked);
    if (li.frames != kFrames || rep.checksums_verified == 0 ||
        std::memcmp(&fresh.state(), &a.game.state(), sizeof(GameState)) != 0) {
        std::fprintf(stderr, "the replay does not reproduce the match\n");
        return 1;
    }

    // Seek: put another fresh game at frame 300 and check it against the log's inputs.
    Game seeker;
    std::uint32_t from = replay.seek(seeker, sizeof(GameState), 300);
    replay.rewind(300);
    auto f = replay.next_frame();
    framelock_input in0 = replay.input(0);
    if (seeker.state().frame != 300 || !f || *f != 300 || in0.len != 1 || in0.bytes[0] != pad(0, 300 - 1)) {
        std::fprintf(stderr, "seek or cursor disagree (frame %u, replay from %u)\n", seeker.state().frame, from);
        return 1;
    }

    // A game that throws: the exception crosses the C boundary intact.
    struct Broken : Game {
        void advance(std::uint32_t, const framelock_input *, std::size_t) { throw std::runtime_error("boom"); }
    } broken;
    try {
        replay.verify(broken, sizeof(GameState));
        std::fprintf(stderr, "expected the game's exception\n");
        return 1;
    } catch (const std::runtime_error &e) {
        if (std::string(e.what()) != "boom") throw;
    }
    std::remove(path.c_str());
    std::printf("replay reproduces the match; seek to frame 300 ok\n");
    return 0;
}

} // namespace

int main() {
    try {
        return run();
    } catch (const framelock::Error &e) {
        std::fprintf(stderr, "framelock error %d: %s\n", static_cast<int>(e.status()), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
}
