// The smallest C++ program over framelock.hpp: a local sync-test session of a counter game.
#include <cstdio>
#include <cstring>

#include "framelock.hpp"

namespace {
struct Counter {
    std::uint32_t frame = 0;
    std::uint64_t sum = 0;
    bool save(std::uint32_t, framelock::Snapshot &snap) { return snap.write(this, sizeof *this).ok(); }
    bool load(std::uint32_t, const std::uint8_t *data, std::size_t len) {
        if (len != sizeof *this) return false;
        std::memcpy(this, data, len);
        return true;
    }
    bool advance(std::uint32_t, const framelock_input *in, std::size_t n) {
        for (std::size_t i = 0; i < n; i++) sum = sum * 31 + (in[i].len ? in[i].bytes[0] : 0);
        frame++;
        return true;
    }
};
} // namespace

int main() {
    framelock::SessionConfig cfg;
    cfg.mode = FRAMELOCK_MODE_SYNC_TEST;
    cfg.local_slots = 0b11;
    cfg.max_input_size = 1;
    cfg.max_snapshot_size = sizeof(Counter);
    auto session = framelock::Session::create(cfg);
    if (!session) {
        std::fprintf(stderr, "%s\n", session.message().c_str());
        return 1;
    }
    Counter game;
    for (std::uint8_t f = 0; f < 100; f++) {
        for (std::uint32_t slot = 0; slot < 2; slot++) {
            if (auto r = session->add_local_input(slot, &f, 1); !r) return 1;
        }
        if (auto r = session->advance_with(game); !r) {
            std::fprintf(stderr, "%s\n", r.message().c_str());
            return 1;
        }
    }
    std::printf("framelock %s from CMake: frame %u, sum %llu\n", framelock::version().c_str(), game.frame,
                static_cast<unsigned long long>(game.sum));
    return game.frame == 100 ? 0 : 1;
}
