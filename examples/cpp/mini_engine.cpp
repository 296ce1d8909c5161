// A C++ mini engine over framelock.hpp, with its own game state (not the reference simulation).
//
// Two "machines" run in one process: peer A owns slot 0, peer B owns slot 1. Each runs a rollback
// session over its own copy of the game; inputs and checksums travel between them over an
// in-memory link that delays every packet by a few ticks, so each peer predicts the other, rolls
// back and resimulates. Peer A records an input log of the match; after the match the log is
// opened and verified by replaying it into a fresh game, and the engine seeks into it; the same
// file is verified and read streaming (Log::verify_file, LogStream, Log::verify_arena_file).
//
// The game: a handful of balls on a 256x256 field in integer arithmetic; each player steers one
// paddle-ball with its input (dx, dy in -1..1 packed into one byte), the others bounce around.
//
// The game fails on purpose (peer A: once in a save, a load and an advance; and the same in a
// local sync-test match): the session undoes the step and the match goes on as if
// nothing happened. It compiles with and without exceptions (scripts/test-ffi builds both): with
// them the game throws and framelock rethrows; without, the game returns false and the Result says
// FRAMELOCK_ERR_SIMULATION. Every Result is checked, which is how code for both modes is written.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
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

// A failure the game injects on purpose.
struct Injected {};

// The frame at which the game's save, load or advance fails once (kNever: not at all).
constexpr std::uint32_t kNever = 0xffffffffu;
struct Faults {
    std::uint32_t save = kNever, load = kNever, advance = kNever;
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
    explicit Game(Faults f) : Game() { faults_ = f; }

    // framelock callbacks (see framelock::Session::advance_with): false (or, with exceptions, a
    // throw) is a failure.
    bool save(std::uint32_t frame, framelock::Snapshot &snap) {
        if (frame != s_.frame) return false;
        if (frame == faults_.save) return fail(faults_.save);
        return snap.write(&s_, sizeof s_).ok();
    }
    bool load(std::uint32_t frame, const std::uint8_t *data, std::size_t len) {
        if (len != sizeof s_) return false;
        if (frame >= faults_.load) {
            s_.frame = 77777; // half loaded: garbage
            return fail(faults_.load);
        }
        std::memcpy(&s_, data, sizeof s_);
        return s_.frame == frame;
    }
    bool advance(std::uint32_t frame, const framelock_input *inputs, std::size_t count) {
        if (frame != s_.frame) return false;
        for (std::size_t i = 0; i < count && i < kPlayers; i++) {
            std::uint8_t b = inputs[i].len > 0 ? inputs[i].bytes[0] : 0x11; // neutral
            Ball &p = s_.balls[inputs[i].slot];
            p.vx += (b & 0x0f) - 1;
            p.vy += (b >> 4) - 1;
        }
        if (frame == faults_.advance) return fail(faults_.advance); // half advanced: garbage
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
        return true;
    }

    const GameState &state() const { return s_; }
    int failures() const { return failures_; }

private:
    bool fail(std::uint32_t &fault) {
        fault = kNever;
        failures_++;
#ifndef FRAMELOCK_NO_EXCEPTIONS
        throw Injected{};
#else
        return false;
#endif
    }
    GameState s_;
    Faults faults_;
    int failures_ = 0;
};

// Prints a failed Result and says whether it was OK (with exceptions it always is: they throw).
template <class R> bool good(const R &r, const char *what) {
    if (!r) std::fprintf(stderr, "%s: %s\n", what, r.message().c_str());
    return r.ok();
}

// One advance_with; false when the game failed on purpose (the session undid the step).
bool advance(framelock::Session &session, Game &game) {
#ifndef FRAMELOCK_NO_EXCEPTIONS
    try {
        (void)session.advance_with(game);
        return true;
    } catch (const Injected &) {
        return false;
    }
#else
    auto r = session.advance_with(game);
    if (r.ok()) return true;
    if (r.status() != FRAMELOCK_ERR_SIMULATION) {
        std::fprintf(stderr, "advance: %s\n", r.message().c_str());
        std::exit(1);
    }
    return false;
#endif
}

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
    int failed_steps = 0;
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
bool tick(Peer &me, Peer &other, std::uint32_t now) {
    while (!me.inbox.empty() && me.inbox.front().deliver_at <= now) {
        Packet p = me.inbox.front();
        me.inbox.pop_front();
        if (p.is_checksum) {
            if (!good(me.session.add_remote_checksum(other.slot, p.frame, p.checksum), "checksum")) return false;
        } else if (!good(me.session.add_remote_input(other.slot, p.frame, &p.input, p.len), "remote input")) {
            return false;
        }
    }
    auto info = me.session.info();
    if (!good(info, "info")) return false;
    if (now == 0) {
        // The first input_delay frames of a local slot hold the default input: tell the peer.
        for (std::uint32_t f = 0; f < info->input_delay; f++) {
            other.inbox.push_back(Packet{now + kDelay, false, f, 0, 0, 0});
        }
    }
    // The pad is read for the frame the input goes to (a redone frame gets the same input).
    std::uint32_t target = info->current_frame + info->input_delay;
    std::uint8_t in = pad(me.slot, target);
    auto frame = me.session.add_local_input(me.slot, &in, 1);
    if (!good(frame, "local input")) return false;
    if (*frame != FRAMELOCK_NO_FRAME) other.inbox.push_back(Packet{now + kDelay, false, *frame, in, 1, 0});
    if (!advance(me.session, me.game)) {
        // The step was undone: the frame is not counted and the next tick simulates it again.
        auto after = me.session.info();
        if (!good(after, "info") || after->current_frame != info->current_frame) {
            std::fprintf(stderr, "peer %u: a failed frame was counted\n", me.slot);
            return false;
        }
        me.failed_steps++;
    }
    // Send the checksums of newly final frames, every 10th frame.
    info = me.session.info();
    if (!good(info, "info")) return false;
    for (; me.checksum_sent_until < info->checksummed_until; me.checksum_sent_until++) {
        std::uint32_t f = me.checksum_sent_until;
        if (f % 10 != 0) continue;
        auto c = me.session.checksum(f);
        if (!good(c, "checksum")) return false;
        if (*c) other.inbox.push_back(Packet{now + kDelay, true, f, 0, 0, **c});
    }
    for (auto e = me.session.poll_event(); e && *e; e = me.session.poll_event()) {
        if ((*e)->kind == FRAMELOCK_EVENT_DESYNC) {
            std::fprintf(stderr, "peer %u: desync at frame %u\n", me.slot, (*e)->frame);
            me.desyncs++;
        }
    }
    return true;
}

// A local sync-test match (both players on this machine) whose game fails once in a save, a load
// and an advance: it must end exactly where a match without failures ends.
bool local_match(Faults faults, GameState &end, int &failed_steps) {
    framelock::SessionConfig cfg;
    cfg.slots = kPlayers;
    cfg.local_slots = 0b11;
    cfg.mode = FRAMELOCK_MODE_SYNC_TEST;
    cfg.max_input_size = 1;
    cfg.max_snapshot_size = sizeof(GameState);
    auto session = framelock::Session::create(cfg);
    if (!good(session, "session")) return false;
    Game game(faults);
    for (int ticks = 0; ticks < 400; ticks++) {
        auto info = session->info();
        if (!good(info, "info")) return false;
        if (info->current_frame == 300) break;
        for (std::uint32_t slot = 0; slot < kPlayers; slot++) {
            std::uint8_t in = pad(slot, info->current_frame);
            if (!good(session->add_local_input(slot, &in, 1), "local input")) return false;
        }
        if (!advance(*session, game)) failed_steps++;
        for (auto e = session->poll_event(); e && *e; e = session->poll_event()) {
            std::fprintf(stderr, "local match: event %u at frame %u\n", (*e)->kind, (*e)->frame);
            return false;
        }
    }
    end = game.state();
    return failed_steps == game.failures();
}

int run() {
    std::printf("framelock %s: two rollback peers, %u ticks of link delay\n", framelock::version().c_str(), kDelay);
    auto sa_ = framelock::Session::create(peer_config(0, true));
    auto sb_ = framelock::Session::create(peer_config(1, false));
    if (!good(sa_, "session A") || !good(sb_, "session B")) return 1;
    Faults a_faults;
    a_faults.save = 100; // peer A's game fails once in a save, a load and an advance
    a_faults.load = 300;
    a_faults.advance = 200;
    Peer a{0, std::move(*sa_), Game(a_faults), {}};
    Peer b{1, std::move(*sb_), Game(), {}};

    const std::string path = "mini_engine.flog";
    framelock::LogConfig lc;
    lc.slots = kPlayers;
    lc.max_input_size = 1;
    lc.mode = FRAMELOCK_MODE_ROLLBACK;
    lc.mode_depth = 12;
    lc.checksum_interval = 30;
    lc.simulation = "mini_engine";
    lc.creator = "examples/cpp/mini_engine";
    auto log = framelock::LogWriter::create(lc, path);
    if (!good(log, "log")) return 1;

    // Play until frame kFrames is final on both peers (its inputs confirmed, the frames before it
    // simulated with them): a peer that stopped at kFrames could not roll back any more.
    auto final_on = [](Peer &p) { return p.session.info().value().checksummed_until > kFrames; };
    for (std::uint32_t now = 0; !final_on(a) || !final_on(b); now++) {
        if (now > 2 * kFrames || !tick(a, b, now) || !tick(b, a, now)) return 1;
        if (!good(log->record_session(a.session), "record")) return 1;
    }
    if (!good(log->finish(), "finish")) return 1;

    auto sa = a.session.stats(), sb = b.session.stats();
    if (!good(sa, "stats") || !good(sb, "stats")) return 1;
    std::printf("peer A: %llu frames, %llu rollbacks (longest %u), %llu resimulated, %llu checksums compared, "
                "%d failed steps redone\n",
                (unsigned long long)sa->frames_advanced, (unsigned long long)sa->rollbacks, sa->max_rollback,
                (unsigned long long)sa->frames_resimulated, (unsigned long long)sa->checksums_compared,
                a.failed_steps);
    std::printf("peer B: %llu frames, %llu rollbacks (longest %u), %llu checksums compared\n",
                (unsigned long long)sb->frames_advanced, (unsigned long long)sb->rollbacks, sb->max_rollback,
                (unsigned long long)sb->checksums_compared);
    auto end_a = a.session.checksum(kFrames), end_b = b.session.checksum(kFrames);
    if (!good(end_a, "checksum") || !good(end_b, "checksum") || !*end_a || *end_a != *end_b) {
        std::fprintf(stderr, "the two peers disagree on frame %u\n", kFrames);
        return 1;
    }
    if (a.desyncs + b.desyncs != 0 || sa->rollbacks == 0 || sa->checksums_compared == 0 || a.failed_steps != 3) {
        std::fprintf(stderr, "expected rollbacks, compared checksums, three failed steps and no desync\n");
        return 1;
    }
    std::printf("both peers agree on frame %u: checksum %016llx\n", kFrames, (unsigned long long)**end_a);

    // Replay the log into a fresh game: every recorded checksum must match.
    auto replay = framelock::Log::open(path);
    if (!good(replay, "open")) return 1;
    auto li = replay->info();
    Game fresh;
    auto rep = replay->verify(fresh, sizeof(GameState));
    if (!good(li, "info") || !good(rep, "verify")) return 1;
    std::printf("log: %u frames, %u checksums; replay verified %u, unchecked %u\n", li->frames, li->checksums,
                rep->checksums_verified, rep->checksums_unchecked);
    if (li->frames < kFrames || rep->checksums_verified == 0 || fresh.state().frame != li->frames) {
        std::fprintf(stderr, "the replay does not reproduce the match\n");
        return 1;
    }
    // The replay's state at kFrames is the one both peers agreed on.
    Game at_end;
    auto seek_end = replay->seek(at_end, sizeof(GameState), kFrames);
    if (!good(seek_end, "seek") || framelock::checksum64(&at_end.state(), sizeof(GameState)) != **end_a) {
        std::fprintf(stderr, "the replay's frame %u is not the peers'\n", kFrames);
        return 1;
    }

    // Seek: put another fresh game at frame 300 and check it against the log's inputs.
    Game seeker;
    auto from = replay->seek(seeker, sizeof(GameState), 300);
    if (!good(from, "seek") || !good(replay->rewind(300), "rewind")) return 1;
    auto f = replay->next_frame();
    auto in0 = replay->input(0);
    if (!good(f, "next frame") || !good(in0, "input")) return 1;
    if (seeker.state().frame != 300 || !*f || **f != 300 || in0->len != 1 || in0->bytes[0] != pad(0, 300)) {
        std::fprintf(stderr, "seek or cursor disagree (frame %u, replay from %u)\n", seeker.state().frame, *from);
        return 1;
    }
    // The same log from bytes in memory.
    std::FILE *file = std::fopen(path.c_str(), "rb");
    std::vector<std::uint8_t> bytes(1 << 20);
    std::size_t n = file ? std::fread(bytes.data(), 1, bytes.size(), file) : 0;
    if (file) std::fclose(file);
    auto mem = framelock::Log::open_bytes(bytes.data(), n);
    if (!good(mem, "open_bytes") || mem->info()->frames != li->frames) return 1;

    // The same log streaming, the file never held whole: Log::verify_file gives verify()'s report
    // and end state, LogStream the frames and inputs of the in-memory cursor.
    Game streamed;
    auto srep = framelock::Log::verify_file(path, streamed, sizeof(GameState));
    if (!good(srep, "verify_file")) return 1;
    if (srep->frames != rep->frames || srep->checksums_verified != rep->checksums_verified ||
        srep->checksums_unchecked != rep->checksums_unchecked ||
        std::memcmp(&streamed.state(), &fresh.state(), sizeof(GameState)) != 0) {
        std::fprintf(stderr, "verify_file: %u frames, %u checksums verified; verify: %u, %u\n", srep->frames,
                     srep->checksums_verified, rep->frames, rep->checksums_verified);
        return 1;
    }
    auto stream = framelock::LogStream::open(path);
    if (!good(stream, "stream open") || !good(replay->rewind(li->first_frame), "rewind")) return 1;
    std::uint32_t streamed_frames = 0;
    for (;;) {
        auto sf = stream->next_frame();
        auto mf = replay->next_frame();
        if (!good(sf, "stream next frame") || !good(mf, "next frame")) return 1;
        if (*sf != *mf) {
            std::fprintf(stderr, "LogStream and the cursor disagree after %u frames\n", streamed_frames);
            return 1;
        }
        if (!*sf) break;
        for (std::uint32_t slot = 0; slot < kPlayers; slot++) {
            auto si = stream->input(slot);
            auto mi = replay->input(slot);
            if (!good(si, "stream input") || !good(mi, "input")) return 1;
            if (si->len != mi->len || si->status != mi->status ||
                (si->len != 0 && std::memcmp(si->bytes, mi->bytes, si->len) != 0)) {
                std::fprintf(stderr, "LogStream: frame %u slot %u differs from the cursor\n", **sf, slot);
                return 1;
            }
        }
        streamed_frames++;
    }
    auto sinfo = stream->info();
    if (!good(sinfo, "stream info") || streamed_frames != li->frames || sinfo->frames != li->frames ||
        sinfo->checksums != li->checksums || sinfo->end_frame != li->end_frame) {
        std::fprintf(stderr, "LogStream read %u frames, the log has %u\n", streamed_frames, li->frames);
        return 1;
    }
    // verify_arena_file refuses a log of another simulation as verify_arena() does, and a missing
    // file is FRAMELOCK_ERR_IO.
    // The status of a call that fails: thrown (with exceptions) or in its Result.
    auto status_of = [](auto call) {
#ifndef FRAMELOCK_NO_EXCEPTIONS
        try {
            (void)call();
            return FRAMELOCK_OK;
        } catch (const framelock::Error &e) {
            return e.status();
        }
#else
        return call().status();
#endif
    };
    auto arena_file = status_of([&] { return framelock::Log::verify_arena_file(path); });
    auto arena_mem = status_of([&] { return replay->verify_arena(); });
    auto missing = status_of([] { return framelock::Log::verify_arena_file("no-such-log.flog"); });
    if (arena_file == FRAMELOCK_OK || arena_file != arena_mem || missing != FRAMELOCK_ERR_IO) {
        std::fprintf(stderr, "verify_arena_file: status %d, verify_arena: %d, missing file: %d\n",
                     static_cast<int>(arena_file), static_cast<int>(arena_mem), static_cast<int>(missing));
        return 1;
    }
    std::printf("streaming: verify_file and LogStream agree with the in-memory log (%u frames)\n",
                streamed_frames);

    // A game whose advance fails: with exceptions, its exception crosses the C boundary intact;
    // without, the Result says FRAMELOCK_ERR_SIMULATION.
    Faults broken_faults;
    broken_faults.advance = 3;
    Game broken(broken_faults);
#ifndef FRAMELOCK_NO_EXCEPTIONS
    try {
        (void)replay->verify(broken, sizeof(GameState));
        std::fprintf(stderr, "expected the game's exception\n");
        return 1;
    } catch (const Injected &) {
    }
#else
    auto bad = replay->verify(broken, sizeof(GameState));
    if (bad.ok() || bad.status() != FRAMELOCK_ERR_SIMULATION) {
        std::fprintf(stderr, "expected FRAMELOCK_ERR_SIMULATION from a failing game\n");
        return 1;
    }
#endif
    std::remove(path.c_str());
    std::printf("replay reproduces the match; seek to frame 300 ok\n");

    // Only local players: failures in a save, a load and an advance are redone.
    GameState clean{}, faulty{};
    int clean_failed = 0, faulty_failed = 0;
    Faults local_faults;
    local_faults.save = 40;
    local_faults.load = 120;
    local_faults.advance = 200;
    if (!local_match(Faults(), clean, clean_failed) || !local_match(local_faults, faulty, faulty_failed)) return 1;
    if (clean_failed != 0 || faulty_failed != 3 || std::memcmp(&clean, &faulty, sizeof clean) != 0) {
        std::fprintf(stderr, "local match: %d failed steps, the game ends %s\n", faulty_failed,
                     std::memcmp(&clean, &faulty, sizeof clean) ? "elsewhere" : "in place");
        return 1;
    }
    std::printf("local sync test: a failed save, load and advance were redone; same end state\n");
    return 0;
}

} // namespace

int main() {
#ifndef FRAMELOCK_NO_EXCEPTIONS
    try {
        return run();
    } catch (const framelock::Error &e) {
        std::fprintf(stderr, "framelock error %d: %s\n", static_cast<int>(e.status()), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
#else
    return run();
#endif
}
