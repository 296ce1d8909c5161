// framelock.hpp: a header-only C++17 wrapper over framelock.h.
//
// RAII handles (move-only; the destructor frees), exceptions that carry the status code and the
// library's message (framelock::Error), and templates that turn a game object into the C
// callbacks. Everything here is inline over the C ABI; nothing is hidden from it: get() returns
// the C handle.
//
//   framelock::SessionConfig cfg;           // framelock_session_config_init()
//   cfg.max_input_size = 1;
//   framelock::Session session(cfg);
//   session.add_local_input(0, &pad, 1);
//   session.advance_with(game);             // game.save(frame, snapshot), game.load(frame, data, len),
//                                           // game.advance(frame, inputs, count)
//   while (auto e = session.poll_event()) { ... }
//
// Exceptions thrown by the game's callbacks are caught at the C boundary, carried across it and
// rethrown from advance_with() / Log::verify() unchanged.
#ifndef FRAMELOCK_HPP
#define FRAMELOCK_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "framelock.h"

namespace framelock {

/// A failed call: the status code and the library's message for it.
class Error : public std::runtime_error {
public:
    Error(framelock_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    /// The FRAMELOCK_ERR_ code.
    framelock_status status() const noexcept { return status_; }

private:
    framelock_status status_;
};

/// Throws framelock::Error for anything but FRAMELOCK_OK.
inline void check(framelock_status status) {
    if (status != FRAMELOCK_OK) {
        throw Error(status, std::string(framelock_status_name(status)) + ": " + framelock_last_error_message());
    }
}

/// The library's version, e.g. "0.1.0".
inline std::string version() { return framelock_version(); }

namespace detail {
template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T *)> using Handle = std::unique_ptr<T, Deleter<T, Free>>;
} // namespace detail

/// framelock_session_config filled with the defaults.
struct SessionConfig : framelock_session_config {
    SessionConfig() : framelock_session_config() { check(framelock_session_config_init(this)); }
};

/// framelock_arena_params filled with the defaults.
struct ArenaParams : framelock_arena_params {
    ArenaParams() : framelock_arena_params() { check(framelock_arena_params_init(this)); }
};

/// framelock_log_config filled with the defaults.
struct LogConfig : framelock_log_config {
    LogConfig() : framelock_log_config() { check(framelock_log_config_init(this)); }
};

/// The snapshot a game's save() writes into (valid during the call only).
class Snapshot {
public:
    explicit Snapshot(framelock_snapshot *s) noexcept : s_(s) {}
    /// Appends bytes.
    void write(const void *data, std::size_t len) { check(framelock_snapshot_write(s_, static_cast<const std::uint8_t *>(data), len)); }
    /// Sets the snapshot to len zeroed bytes and returns them to fill in place.
    std::uint8_t *buffer(std::size_t len) {
        std::uint8_t *p = nullptr;
        check(framelock_snapshot_buffer(s_, len, &p));
        return p;
    }
    /// Uses the game's own checksum for this snapshot.
    void set_checksum(std::uint64_t checksum) { check(framelock_snapshot_set_checksum(s_, checksum)); }

private:
    framelock_snapshot *s_;
};

namespace detail {
/// Adapts a game object to framelock_callbacks; exceptions are kept and rethrown by finish().
template <class Game> struct Callbacks {
    Game *game;
    std::exception_ptr error;

    static int save(void *user, std::uint32_t frame, framelock_snapshot *snap) noexcept {
        auto *self = static_cast<Callbacks *>(user);
        try {
            Snapshot s(snap);
            self->game->save(frame, s);
            return 0;
        } catch (...) {
            self->error = std::current_exception();
            return 1;
        }
    }
    static int load(void *user, std::uint32_t frame, const std::uint8_t *data, std::size_t len) noexcept {
        auto *self = static_cast<Callbacks *>(user);
        try {
            self->game->load(frame, data, len);
            return 0;
        } catch (...) {
            self->error = std::current_exception();
            return 1;
        }
    }
    static int advance(void *user, std::uint32_t frame, const framelock_input *inputs, std::size_t count) noexcept {
        auto *self = static_cast<Callbacks *>(user);
        try {
            self->game->advance(frame, inputs, count);
            return 0;
        } catch (...) {
            self->error = std::current_exception();
            return 1;
        }
    }
    framelock_callbacks c_struct() noexcept {
        framelock_callbacks cb{};
        cb.struct_size = sizeof cb;
        cb.user = this;
        cb.save_state = &Callbacks::save;
        cb.load_state = &Callbacks::load;
        cb.advance_frame = &Callbacks::advance;
        return cb;
    }
    /// Rethrows the game's exception if there was one, else checks the status.
    void finish(framelock_status status) {
        if (error) std::rethrow_exception(error);
        check(status);
    }
};
} // namespace detail

/// A frame-sync session (owns a framelock_session).
class Session {
public:
    explicit Session(const framelock_session_config &config) {
        framelock_session *s = nullptr;
        check(framelock_session_new(&config, &s));
        h_.reset(s);
    }
    framelock_session *get() const noexcept { return h_.get(); }

    /// Adds a local input; returns the frame it is queued for, or FRAMELOCK_NO_FRAME if dropped.
    std::uint32_t add_local_input(std::uint32_t slot, const void *data, std::size_t len) {
        std::uint32_t frame = FRAMELOCK_NO_FRAME;
        check(framelock_session_add_local_input(get(), slot, static_cast<const std::uint8_t *>(data), len, &frame));
        return frame;
    }
    void add_remote_input(std::uint32_t slot, std::uint32_t frame, const void *data, std::size_t len) {
        check(framelock_session_add_remote_input(get(), slot, frame, static_cast<const std::uint8_t *>(data), len));
    }
    void disconnect_slot(std::uint32_t slot, std::uint32_t frame) { check(framelock_session_disconnect_slot(get(), slot, frame)); }
    void set_input_delay(std::uint32_t frames) { check(framelock_session_set_input_delay(get(), frames)); }

    /// Opens a step whose requests the caller fulfils (request_count(), request(), save(), load()).
    framelock_outcome advance() {
        framelock_outcome o{};
        check(framelock_session_advance(get(), &o));
        return o;
    }
    std::size_t request_count() const {
        std::size_t n = 0;
        check(framelock_session_request_count(get(), &n));
        return n;
    }
    framelock_request request(std::size_t index) const {
        framelock_request r{};
        check(framelock_session_request(get(), index, &r));
        return r;
    }
    std::size_t request_inputs(std::size_t index, framelock_input *out, std::size_t capacity) const {
        std::size_t n = 0;
        check(framelock_session_request_inputs(get(), index, out, capacity, &n));
        return n;
    }
    void save(std::uint32_t frame, const void *data, std::size_t len, const std::uint64_t *checksum = nullptr) {
        check(framelock_session_save(get(), frame, static_cast<const std::uint8_t *>(data), len, checksum));
    }
    std::uint8_t *save_buffer(std::uint32_t frame, std::size_t len, const std::uint64_t *checksum = nullptr) {
        std::uint8_t *p = nullptr;
        check(framelock_session_save_buffer(get(), frame, len, checksum, &p));
        return p;
    }
    std::pair<const std::uint8_t *, std::size_t> load(std::uint32_t frame) const {
        const std::uint8_t *p = nullptr;
        std::size_t n = 0;
        check(framelock_session_load(get(), frame, &p, &n));
        return {p, n};
    }
    void finish_step() { check(framelock_session_finish_step(get())); }

    /// Advances and fulfils the requests with `game`, which provides
    /// save(uint32_t frame, framelock::Snapshot&), load(uint32_t frame, const uint8_t*, size_t) and
    /// advance(uint32_t frame, const framelock_input*, size_t). The game's exceptions propagate.
    template <class Game> framelock_outcome advance_with(Game &game) {
        detail::Callbacks<Game> ctx{&game, nullptr};
        framelock_callbacks cb = ctx.c_struct();
        framelock_outcome o{};
        ctx.finish(framelock_session_advance_with(get(), &cb, &o));
        return o;
    }

    void add_remote_checksum(std::uint32_t slot, std::uint32_t frame, std::uint64_t checksum) {
        check(framelock_session_add_remote_checksum(get(), slot, frame, checksum));
    }
    /// The final checksum of `frame`, or nothing while it is not available.
    std::optional<std::uint64_t> checksum(std::uint32_t frame) const {
        std::uint64_t c = 0;
        framelock_status st = framelock_session_checksum(get(), frame, &c);
        if (st == FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE) return std::nullopt;
        check(st);
        return c;
    }
    /// The next event, or nothing.
    std::optional<framelock_event> poll_event() {
        framelock_event e{};
        check(framelock_session_poll_event(get(), &e));
        if (e.kind == FRAMELOCK_EVENT_NONE) return std::nullopt;
        return e;
    }
    framelock_session_info info() const {
        framelock_session_info i{};
        i.struct_size = sizeof i;
        check(framelock_session_get_info(get(), &i));
        return i;
    }
    framelock_stats stats() const {
        framelock_stats s{};
        s.struct_size = sizeof s;
        check(framelock_session_get_stats(get(), &s));
        return s;
    }

private:
    detail::Handle<framelock_session, framelock_session_free> h_;
};

/// The reference simulation (owns a framelock_arena).
class Arena {
public:
    explicit Arena(const framelock_arena_params &params) {
        framelock_arena *a = nullptr;
        check(framelock_arena_new(&params, &a));
        h_.reset(a);
    }
    framelock_arena *get() const noexcept { return h_.get(); }
    /// Fulfils the session's open step and closes it.
    void fulfil(Session &session) { check(framelock_arena_fulfil(get(), session.get())); }
    std::uint32_t frame() const {
        std::uint32_t f = 0;
        check(framelock_arena_frame(get(), &f));
        return f;
    }
    framelock_arena_player player(std::uint32_t slot) const {
        framelock_arena_player p{};
        check(framelock_arena_get_player(get(), slot, &p));
        return p;
    }

private:
    detail::Handle<framelock_arena, framelock_arena_free> h_;
};

/// An input log being recorded (owns a framelock_log_writer). Call finish() to close it.
class LogWriter {
public:
    LogWriter(const framelock_log_config &config, const std::string &path) {
        framelock_log_writer *w = nullptr;
        check(framelock_log_writer_new(&config, path.c_str(), &w));
        h_.reset(w);
    }
    framelock_log_writer *get() const noexcept { return h_.get(); }
    void record_session(Session &session) { check(framelock_log_writer_record_session(get(), session.get())); }
    void record_checksum(std::uint32_t frame, std::uint64_t checksum) {
        check(framelock_log_writer_record_checksum(get(), frame, checksum));
    }
    void finish() { check(framelock_log_writer_finish(get())); }

private:
    detail::Handle<framelock_log_writer, framelock_log_writer_free> h_;
};

/// A recorded input log (owns a framelock_log).
class Log {
public:
    static Log open(const std::string &path) {
        framelock_log *l = nullptr;
        check(framelock_log_open(path.c_str(), &l));
        return Log(l);
    }
    framelock_log *get() const noexcept { return h_.get(); }
    framelock_log_info info() const {
        framelock_log_info i{};
        i.struct_size = sizeof i;
        check(framelock_log_get_info(get(), &i));
        return i;
    }
    /// Replays the log through `game` (in the log's first state) and checks every checksum.
    template <class Game> framelock_verify_report verify(Game &game, std::size_t max_snapshot_size) const {
        detail::Callbacks<Game> ctx{&game, nullptr};
        framelock_callbacks cb = ctx.c_struct();
        framelock_verify_report r{};
        ctx.finish(framelock_log_verify(get(), &cb, max_snapshot_size, &r));
        return r;
    }
    /// Puts `game` into the state at the start of `frame`; returns the frame replaying started from.
    template <class Game> std::uint32_t seek(Game &game, std::size_t max_snapshot_size, std::uint32_t frame) const {
        detail::Callbacks<Game> ctx{&game, nullptr};
        framelock_callbacks cb = ctx.c_struct();
        std::uint32_t start = 0;
        ctx.finish(framelock_log_seek(get(), &cb, max_snapshot_size, frame, &start));
        return start;
    }
    framelock_verify_report verify_arena() const {
        framelock_verify_report r{};
        check(framelock_log_verify_arena(get(), &r));
        return r;
    }
    void rewind(std::uint32_t frame) { check(framelock_log_rewind(get(), frame)); }
    /// The next frame's number, or nothing after the last.
    std::optional<std::uint32_t> next_frame() {
        std::uint32_t f = 0;
        bool has = false;
        check(framelock_log_next_frame(get(), &f, &has));
        if (!has) return std::nullopt;
        return f;
    }
    framelock_input input(std::uint32_t slot) const {
        framelock_input in{};
        check(framelock_log_frame_input(get(), slot, &in));
        return in;
    }

private:
    explicit Log(framelock_log *l) : h_(l) {}
    detail::Handle<framelock_log, framelock_log_free> h_;
};

/// framelock_net_client_config filled with the defaults (set token, slot, players, tick_rate).
struct NetClientConfig : framelock_net_client_config {
    NetClientConfig() : framelock_net_client_config() { check(framelock_net_client_config_init(this)); }
};

/// A network client playing the reference simulation in a relay room (owns a framelock_net_client
/// and its socket). The destructor frees it without telling the relay: call disconnect() first.
/// (For the engine's own state, create the handle with framelock_net_client_new_with_callbacks().)
class NetClient {
public:
    /// Connects with `config.token` (copied).
    explicit NetClient(const framelock_net_client_config &config) {
        framelock_net_client *c = nullptr;
        check(framelock_net_client_new(&config, &c));
        h_.reset(c);
    }
    framelock_net_client *get() const noexcept { return h_.get(); }
    /// One network iteration: waits at most `max_wait_ms`, receives, runs timers, sends.
    void poll(std::uint32_t max_wait_ms) { check(framelock_net_client_poll(get(), max_wait_ms)); }
    /// Ticks due now at the room's tick rate (counted as done).
    std::uint32_t ticks_due() {
        std::uint32_t n = 0;
        check(framelock_net_client_ticks_due(get(), &n));
        return n;
    }
    /// One frame with this client's input.
    framelock_outcome tick(const void *input, std::size_t len) {
        framelock_outcome o{};
        check(framelock_net_client_tick(get(), static_cast<const std::uint8_t *>(input), len, &o));
        return o;
    }
    bool is_connected() const {
        bool c = false;
        check(framelock_net_client_is_connected(get(), &c));
        return c;
    }
    /// A FRAMELOCK_NET_STATE_ constant.
    std::int32_t state() const {
        std::int32_t s = 0;
        check(framelock_net_client_state(get(), &s));
        return s;
    }
    void disconnect() { check(framelock_net_client_disconnect(get())); }
    framelock_net_client_stats stats() const {
        framelock_net_client_stats s{};
        s.struct_size = sizeof s;
        check(framelock_net_client_get_stats(get(), &s));
        return s;
    }
    /// The final checksum of `frame`, or nothing while it is not final (or too old).
    std::optional<std::uint64_t> checksum(std::uint32_t frame) const {
        std::uint64_t c = 0;
        framelock_status st = framelock_net_client_checksum(get(), frame, &c);
        if (st == FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE) return std::nullopt;
        check(st);
        return c;
    }
    std::uint32_t current_frame() const {
        std::uint32_t f = 0;
        check(framelock_net_client_current_frame(get(), &f));
        return f;
    }
    framelock_arena_player player(std::uint32_t slot) const {
        framelock_arena_player p{};
        check(framelock_net_client_arena_get_player(get(), slot, &p));
        return p;
    }

private:
    detail::Handle<framelock_net_client, framelock_net_client_free> h_;
};

} // namespace framelock

#endif // FRAMELOCK_HPP
