// framelock.hpp: a header-only C++17 wrapper over framelock.h, with or without exceptions.
//
// RAII handles (move-only; the destructor frees), templates that turn a game object into the C
// callbacks, and one result type, framelock::Result<T>, carrying the status, the library's message
// and the value. Everything here is inline over the C ABI; get() returns the C handle.
//
// Two error modes, chosen when the header is compiled:
// - With exceptions (the default when the compiler has them): every call throws framelock::Error
//   (status and message) on failure, so a Result it returns is always OK; the exceptions a game's
//   callbacks throw are carried across the C boundary and rethrown unchanged.
// - Without (-fno-exceptions, or FRAMELOCK_NO_EXCEPTIONS defined before the include): nothing
//   throws; every call returns its failure in the Result ([[nodiscard]]). A game's callbacks report
//   failure by returning false (or a nonzero int / framelock_status, or a failed Result).
// Code that checks every Result, as examples/cpp/mini_engine.cpp does, compiles and behaves the
// same in both modes.
//
//   framelock::SessionConfig cfg;                   // framelock_session_config_init()
//   cfg.max_input_size = 1;
//   auto session = framelock::Session::create(cfg); // Result<Session>
//   if (!session) log(session.message());
//   session->add_local_input(0, &pad, 1);
//   auto o = session->advance_with(game);           // game.save(frame, snapshot), game.load(frame,
//                                                   // data, len), game.advance(frame, inputs, count)
//   for (auto e = session->poll_event(); e && *e; e = session->poll_event()) { ... (*e)->kind ... }
//
// A failed step (a callback fails, or abort_step()) is undone: the session does not count the
// frame and the next advance asks for it again (docs/c-api.md, "When the game fails").
#ifndef FRAMELOCK_HPP
#define FRAMELOCK_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(FRAMELOCK_NO_EXCEPTIONS) && !defined(__cpp_exceptions) && !defined(__EXCEPTIONS) && !defined(_CPPUNWIND)
#define FRAMELOCK_NO_EXCEPTIONS 1
#endif

#ifndef FRAMELOCK_NO_EXCEPTIONS
#include <exception>
#include <stdexcept>
#define FRAMELOCK_NODISCARD
#else
#define FRAMELOCK_NODISCARD [[nodiscard]]
#endif

#include "framelock.h"

namespace framelock {

/// The library's version, e.g. "0.1.0".
inline std::string version() { return framelock_version(); }

/// framelock's 64-bit checksum of `len` bytes (what it takes of a snapshot without set_checksum).
inline std::uint64_t checksum64(const void *data, std::size_t len) noexcept {
    std::uint64_t c = 0;
    (void)framelock_checksum64(static_cast<const std::uint8_t *>(data), len, &c);
    return c;
}

/// The message of a status on this thread: "FRAMELOCK_ERR_NAME: what the library said".
inline std::string describe(framelock_status status) {
    return std::string(framelock_status_name(status)) + ": " + framelock_last_error_message();
}

#ifndef FRAMELOCK_NO_EXCEPTIONS
/// A failed call: the status code and the library's message for it.
class Error : public std::runtime_error {
public:
    Error(framelock_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    /// The FRAMELOCK_ERR_ code.
    framelock_status status() const noexcept { return status_; }

private:
    framelock_status status_;
};
#endif

/// A status and, on failure, its message (taken right after the call, so it stays valid).
class Status {
public:
    Status() = default;
    explicit Status(framelock_status status) : status_(status) {
        if (status != FRAMELOCK_OK) message_ = describe(status);
    }
    bool ok() const noexcept { return status_ == FRAMELOCK_OK; }
    framelock_status status() const noexcept { return status_; }
    /// "" on success.
    const std::string &message() const noexcept { return message_; }

private:
    framelock_status status_ = FRAMELOCK_OK;
    std::string message_;
};

/// The outcome of a call: a value, or the status and message of the failure. With exceptions a
/// failure throws instead, so a Result you receive is OK.
template <class T> class FRAMELOCK_NODISCARD Result {
public:
    Result(T value) : value_(std::move(value)) {}
    Result(Status status) : status_(std::move(status)) {}
    bool ok() const noexcept { return status_.ok(); }
    explicit operator bool() const noexcept { return ok(); }
    framelock_status status() const noexcept { return status_.status(); }
    const std::string &message() const noexcept { return status_.message(); }
    /// The value; only on an OK result (otherwise the program aborts: check ok() first).
    T &value() & { return check(), *value_; }
    const T &value() const & { return check(), *value_; }
    T &&value() && { return check(), std::move(*value_); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    /// The value, or `fallback` on failure.
    T value_or(T fallback) const & { return ok() ? *value_ : fallback; }

private:
    void check() const {
        if (!value_) std::abort();
    }
    Status status_;
    std::optional<T> value_;
};

/// A result without a value.
template <> class FRAMELOCK_NODISCARD Result<void> {
public:
    Result() = default;
    Result(Status status) : status_(std::move(status)) {}
    bool ok() const noexcept { return status_.ok(); }
    explicit operator bool() const noexcept { return ok(); }
    framelock_status status() const noexcept { return status_.status(); }
    const std::string &message() const noexcept { return status_.message(); }

private:
    Status status_;
};

/// A byte range owned by the library (valid as the function that returned it says).
struct Bytes {
    const std::uint8_t *data = nullptr;
    std::size_t size = 0;
};

namespace detail {
/// Turns a status into a Result: throws (with exceptions) or carries the failure.
inline Status fail(framelock_status status) {
#ifndef FRAMELOCK_NO_EXCEPTIONS
    throw Error(status, describe(status));
#else
    return Status(status);
#endif
}
template <class T> Result<T> make(framelock_status status, T value) {
    if (status != FRAMELOCK_OK) return fail(status);
    return Result<T>(std::move(value));
}
inline Result<void> make(framelock_status status) {
    if (status != FRAMELOCK_OK) return fail(status);
    return Result<void>();
}

template <class T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
template <class T, void (*Free)(T *)> using Handle = std::unique_ptr<T, Deleter<T, Free>>;

/// 0 when a game method succeeded: void (throws on failure), bool, an int or framelock_status
/// (0 is success), or a framelock Result / Status.
template <class F> int run(F &&f) {
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
        f();
        return 0;
    } else if constexpr (std::is_same_v<R, bool>) {
        return f() ? 0 : 1;
    } else if constexpr (std::is_integral_v<R> || std::is_enum_v<R>) {
        return static_cast<int>(f()) != 0;
    } else {
        return f().ok() ? 0 : 1;
    }
}
} // namespace detail

/// framelock_session_config filled with the defaults.
struct SessionConfig : framelock_session_config {
    SessionConfig() : framelock_session_config() { (void)framelock_session_config_init(this); }
};

/// framelock_arena_params filled with the defaults.
struct ArenaParams : framelock_arena_params {
    ArenaParams() : framelock_arena_params() { (void)framelock_arena_params_init(this); }
};

/// framelock_log_config filled with the defaults.
struct LogConfig : framelock_log_config {
    LogConfig() : framelock_log_config() { (void)framelock_log_config_init(this); }
};

/// framelock_net_client_config filled with the defaults (set token, slot, players, tick_rate).
struct NetClientConfig : framelock_net_client_config {
    NetClientConfig() : framelock_net_client_config() { (void)framelock_net_client_config_init(this); }
};

/// The snapshot a game's save() writes into (valid during the call only).
class Snapshot {
public:
    explicit Snapshot(framelock_snapshot *s) noexcept : s_(s) {}
    framelock_snapshot *get() const noexcept { return s_; }
    /// Appends bytes.
    Result<void> write(const void *data, std::size_t len) {
        return detail::make(framelock_snapshot_write(s_, static_cast<const std::uint8_t *>(data), len));
    }
    /// Sets the snapshot to len zeroed bytes and returns them to fill in place.
    Result<std::uint8_t *> buffer(std::size_t len) {
        std::uint8_t *p = nullptr;
        framelock_status st = framelock_snapshot_buffer(s_, len, &p);
        return detail::make(st, p);
    }
    /// Uses the game's own checksum for this snapshot.
    Result<void> set_checksum(std::uint64_t checksum) {
        return detail::make(framelock_snapshot_set_checksum(s_, checksum));
    }
    /// The bytes a snapshot may hold.
    Result<std::size_t> capacity() const {
        std::size_t n = 0;
        framelock_status st = framelock_snapshot_capacity(s_, &n);
        return detail::make(st, n);
    }

private:
    framelock_snapshot *s_;
};

namespace detail {
/// What a handle that keeps callbacks (a network client) owns.
struct CallbacksBase {
    virtual ~CallbacksBase() = default;
#ifndef FRAMELOCK_NO_EXCEPTIONS
    std::exception_ptr error;
    /// Rethrows the game's exception, if one was kept.
    void rethrow() {
        if (error) {
            std::exception_ptr e = error;
            error = nullptr;
            std::rethrow_exception(e);
        }
    }
#else
    void rethrow() {}
#endif
};

/// Adapts a game object to framelock_callbacks; with exceptions they are kept and rethrown.
template <class Game> struct Callbacks : CallbacksBase {
    Game *game;
    explicit Callbacks(Game *g) : game(g) {}

    template <class F> int guarded(F &&f) noexcept {
#ifndef FRAMELOCK_NO_EXCEPTIONS
        try {
            return run(f);
        } catch (...) {
            error = std::current_exception();
            return 1;
        }
#else
        return run(f);
#endif
    }
    static int save(void *user, std::uint32_t frame, framelock_snapshot *snap) noexcept {
        auto *self = static_cast<Callbacks *>(user);
        return self->guarded([&] {
            Snapshot s(snap);
            return self->game->save(frame, s);
        });
    }
    static int load(void *user, std::uint32_t frame, const std::uint8_t *data, std::size_t len) noexcept {
        auto *self = static_cast<Callbacks *>(user);
        return self->guarded([&] { return self->game->load(frame, data, len); });
    }
    static int advance(void *user, std::uint32_t frame, const framelock_input *inputs, std::size_t count) noexcept {
        auto *self = static_cast<Callbacks *>(user);
        return self->guarded([&] { return self->game->advance(frame, inputs, count); });
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
    /// Rethrows the game's exception if there was one, else turns the status into a Result.
    template <class T> Result<T> finish(framelock_status status, T value) {
        rethrow();
        return make(status, std::move(value));
    }
};
} // namespace detail

/// A frame-sync session (owns a framelock_session).
class Session {
public:
    /// Creates a session (framelock_session_new()).
    static Result<Session> create(const framelock_session_config &config) {
        framelock_session *s = nullptr;
        framelock_status st = framelock_session_new(&config, &s);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return Session(s);
    }
#ifndef FRAMELOCK_NO_EXCEPTIONS
    /// Creates a session; throws framelock::Error.
    explicit Session(const framelock_session_config &config) : Session(create(config).value()) {}
#endif
    framelock_session *get() const noexcept { return h_.get(); }

    /// Adds a local input; the frame it is queued for, or FRAMELOCK_NO_FRAME if dropped.
    Result<std::uint32_t> add_local_input(std::uint32_t slot, const void *data, std::size_t len) {
        std::uint32_t frame = FRAMELOCK_NO_FRAME;
        framelock_status st =
            framelock_session_add_local_input(get(), slot, static_cast<const std::uint8_t *>(data), len, &frame);
        return detail::make(st, frame);
    }
    Result<void> add_remote_input(std::uint32_t slot, std::uint32_t frame, const void *data, std::size_t len) {
        return detail::make(
            framelock_session_add_remote_input(get(), slot, frame, static_cast<const std::uint8_t *>(data), len));
    }
    /// A remote input with the authority's status (FRAMELOCK_INPUT_CONFIRMED, _SUBSTITUTED,
    /// _DISCONNECTED).
    Result<void> add_input_with_status(std::uint32_t slot, std::uint32_t frame, std::uint32_t status, const void *data,
                                       std::size_t len) {
        return detail::make(framelock_session_add_input_with_status(get(), slot, frame, status,
                                                                    static_cast<const std::uint8_t *>(data), len));
    }
    /// Several remote slots' inputs of one frame in one call (`count` entries: slot, bytes, len,
    /// status); the entries before a failing one are added.
    Result<void> add_remote_inputs(std::uint32_t frame, const framelock_input *inputs, std::size_t count) {
        return detail::make(framelock_session_add_remote_inputs(get(), frame, inputs, count));
    }
    Result<void> disconnect_slot(std::uint32_t slot, std::uint32_t frame) {
        return detail::make(framelock_session_disconnect_slot(get(), slot, frame));
    }
    Result<void> set_input_delay(std::uint32_t frames) {
        return detail::make(framelock_session_set_input_delay(get(), frames));
    }

    /// Opens a step whose requests the caller fulfils (request_count(), request(), save(), load(),
    /// then finish_step(), or abort_step() when one failed).
    Result<framelock_outcome> advance() {
        framelock_outcome o{};
        framelock_status st = framelock_session_advance(get(), &o);
        return detail::make(st, o);
    }
    Result<std::size_t> request_count() const {
        std::size_t n = 0;
        framelock_status st = framelock_session_request_count(get(), &n);
        return detail::make(st, n);
    }
    Result<framelock_request> request(std::size_t index) const {
        framelock_request r{};
        framelock_status st = framelock_session_request(get(), index, &r);
        return detail::make(st, r);
    }
    Result<std::size_t> request_inputs(std::size_t index, framelock_input *out, std::size_t capacity) const {
        std::size_t n = 0;
        framelock_status st = framelock_session_request_inputs(get(), index, out, capacity, &n);
        return detail::make(st, n);
    }
    Result<void> save(std::uint32_t frame, const void *data, std::size_t len, const std::uint64_t *checksum = nullptr) {
        return detail::make(
            framelock_session_save(get(), frame, static_cast<const std::uint8_t *>(data), len, checksum));
    }
    Result<std::uint8_t *> save_buffer(std::uint32_t frame, std::size_t len, const std::uint64_t *checksum = nullptr) {
        std::uint8_t *p = nullptr;
        framelock_status st = framelock_session_save_buffer(get(), frame, len, checksum, &p);
        return detail::make(st, p);
    }
    Result<Bytes> load(std::uint32_t frame) const {
        Bytes b;
        framelock_status st = framelock_session_load(get(), frame, &b.data, &b.size);
        return detail::make(st, b);
    }
    Result<void> finish_step() { return detail::make(framelock_session_finish_step(get())); }
    /// Undoes the open step because request `failed_request` failed (framelock_session_abort_step()).
    Result<void> abort_step(std::size_t failed_request) {
        return detail::make(framelock_session_abort_step(get(), failed_request));
    }

    /// Advances and fulfils the requests with `game`, which provides
    /// save(uint32_t frame, framelock::Snapshot&), load(uint32_t frame, const uint8_t*, size_t) and
    /// advance(uint32_t frame, const framelock_input*, size_t). With exceptions, the game's
    /// exceptions propagate (after the step was undone).
    template <class Game> Result<framelock_outcome> advance_with(Game &game) {
        detail::Callbacks<Game> ctx(&game);
        framelock_callbacks cb = ctx.c_struct();
        framelock_outcome o{};
        framelock_status st = framelock_session_advance_with(get(), &cb, &o);
        return ctx.finish(st, o);
    }

    Result<void> add_remote_checksum(std::uint32_t slot, std::uint32_t frame, std::uint64_t checksum) {
        return detail::make(framelock_session_add_remote_checksum(get(), slot, frame, checksum));
    }
    /// The final checksum of `frame`, or nothing while it is not available.
    Result<std::optional<std::uint64_t>> checksum(std::uint32_t frame) const {
        std::uint64_t c = 0;
        framelock_status st = framelock_session_checksum(get(), frame, &c);
        if (st == FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE) return std::optional<std::uint64_t>();
        return detail::make(st, std::optional<std::uint64_t>(c));
    }
    /// The next event, or nothing.
    Result<std::optional<framelock_event>> poll_event() {
        framelock_event e{};
        framelock_status st = framelock_session_poll_event(get(), &e);
        if (st == FRAMELOCK_OK && e.kind == FRAMELOCK_EVENT_NONE) return std::optional<framelock_event>();
        return detail::make(st, std::optional<framelock_event>(e));
    }
    Result<framelock_session_info> info() const {
        framelock_session_info i{};
        i.struct_size = sizeof i;
        framelock_status st = framelock_session_get_info(get(), &i);
        return detail::make(st, i);
    }
    Result<framelock_stats> stats() const {
        framelock_stats s{};
        s.struct_size = sizeof s;
        framelock_status st = framelock_session_get_stats(get(), &s);
        return detail::make(st, s);
    }
    /// The slots whose input for `frame` is not confirmed yet (bit s for slot s).
    Result<std::uint64_t> waiting_for(std::uint32_t frame) const {
        std::uint64_t m = 0;
        framelock_status st = framelock_session_waiting_for(get(), frame, &m);
        return detail::make(st, m);
    }
    /// Sync test: the first mismatch and both snapshots, or nothing when none was found.
    Result<std::optional<framelock_mismatch>> sync_test_mismatch() const {
        framelock_mismatch m{};
        framelock_status st = framelock_session_sync_test_mismatch(get(), &m);
        if (st == FRAMELOCK_ERR_NO_SUCH_SNAPSHOT) return std::optional<framelock_mismatch>();
        return detail::make(st, std::optional<framelock_mismatch>(m));
    }
    /// The local snapshot of final frame `frame` while the ring holds it (after a desync event).
    Result<Bytes> snapshot(std::uint32_t frame) const {
        Bytes b;
        framelock_status st = framelock_session_snapshot(get(), frame, &b.data, &b.size);
        return detail::make(st, b);
    }

private:
    explicit Session(framelock_session *s) noexcept : h_(s) {}
    detail::Handle<framelock_session, framelock_session_free> h_;
};

/// The reference simulation (owns a framelock_arena).
class Arena {
public:
    static Result<Arena> create(const framelock_arena_params &params) {
        framelock_arena *a = nullptr;
        framelock_status st = framelock_arena_new(&params, &a);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return Arena(a);
    }
#ifndef FRAMELOCK_NO_EXCEPTIONS
    explicit Arena(const framelock_arena_params &params) : Arena(create(params).value()) {}
#endif
    framelock_arena *get() const noexcept { return h_.get(); }
    /// The max_snapshot_size a session driving this arena needs.
    static Result<std::size_t> snapshot_size(const framelock_arena_params &params) {
        std::size_t n = 0;
        framelock_status st = framelock_arena_snapshot_size(&params, &n);
        return detail::make(st, n);
    }
    /// The params as an input log records them (sim_params, with simulation "arena").
    static Result<std::vector<std::uint8_t>> encode_params(const framelock_arena_params &params) {
        std::vector<std::uint8_t> b(FRAMELOCK_ARENA_PARAMS_LEN);
        std::size_t n = 0;
        framelock_status st = framelock_arena_encode_params(&params, b.data(), b.size(), &n);
        b.resize(n);
        return detail::make(st, std::move(b));
    }
    /// A deterministic human-looking input for `slot` at `frame`.
    static Result<std::array<std::uint8_t, FRAMELOCK_ARENA_INPUT_SIZE>> scripted_input(std::uint64_t seed,
                                                                                       std::uint32_t slot,
                                                                                       std::uint32_t frame) {
        std::array<std::uint8_t, FRAMELOCK_ARENA_INPUT_SIZE> in{};
        framelock_status st = framelock_arena_scripted_input(seed, slot, frame, in.data(), in.size());
        return detail::make(st, in);
    }
    /// Fulfils the session's open step and closes it.
    Result<void> fulfil(Session &session) { return detail::make(framelock_arena_fulfil(get(), session.get())); }
    Result<void> save(Session &session, std::uint32_t frame) const {
        return detail::make(framelock_arena_save(get(), session.get(), frame));
    }
    Result<void> load(const Session &session, std::uint32_t frame) {
        return detail::make(framelock_arena_load(get(), session.get(), frame));
    }
    Result<void> advance(const Session &session, std::size_t request_index) {
        return detail::make(framelock_arena_advance(get(), session.get(), request_index));
    }
    Result<std::uint32_t> frame() const {
        std::uint32_t f = 0;
        framelock_status st = framelock_arena_frame(get(), &f);
        return detail::make(st, f);
    }
    Result<framelock_arena_player> player(std::uint32_t slot) const {
        framelock_arena_player p{};
        framelock_status st = framelock_arena_get_player(get(), slot, &p);
        return detail::make(st, p);
    }

private:
    explicit Arena(framelock_arena *a) noexcept : h_(a) {}
    detail::Handle<framelock_arena, framelock_arena_free> h_;
};

/// An input log being recorded (owns a framelock_log_writer). Call finish() to close it.
class LogWriter {
public:
    static Result<LogWriter> create(const framelock_log_config &config, const std::string &path) {
        framelock_log_writer *w = nullptr;
        framelock_status st = framelock_log_writer_new(&config, path.c_str(), &w);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return LogWriter(w);
    }
#ifndef FRAMELOCK_NO_EXCEPTIONS
    LogWriter(const framelock_log_config &config, const std::string &path) : LogWriter(create(config, path).value()) {}
#endif
    framelock_log_writer *get() const noexcept { return h_.get(); }
    Result<void> record_session(Session &session) {
        return detail::make(framelock_log_writer_record_session(get(), session.get()));
    }
    /// Records one frame by hand: every slot's confirmed input, in slot order.
    Result<void> record_frame(std::uint32_t frame, const framelock_input *inputs, std::size_t count) {
        return detail::make(framelock_log_writer_record_frame(get(), frame, inputs, count));
    }
    Result<void> record_checksum(std::uint32_t frame, std::uint64_t checksum) {
        return detail::make(framelock_log_writer_record_checksum(get(), frame, checksum));
    }
    Result<void> record_keyframe(std::uint32_t frame, const void *data, std::size_t len) {
        return detail::make(
            framelock_log_writer_record_keyframe(get(), frame, static_cast<const std::uint8_t *>(data), len));
    }
    Result<void> finish() { return detail::make(framelock_log_writer_finish(get())); }

private:
    explicit LogWriter(framelock_log_writer *w) noexcept : h_(w) {}
    detail::Handle<framelock_log_writer, framelock_log_writer_free> h_;
};

/// A recorded input log (owns a framelock_log).
class Log {
public:
    static Result<Log> open(const std::string &path) {
        framelock_log *l = nullptr;
        framelock_status st = framelock_log_open(path.c_str(), &l);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return Log(l);
    }
    /// Opens a log from bytes in memory (copied).
    static Result<Log> open_bytes(const void *data, std::size_t len) {
        framelock_log *l = nullptr;
        framelock_status st = framelock_log_open_bytes(static_cast<const std::uint8_t *>(data), len, &l);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return Log(l);
    }
    framelock_log *get() const noexcept { return h_.get(); }
    Result<framelock_log_info> info() const {
        framelock_log_info i{};
        i.struct_size = sizeof i;
        framelock_status st = framelock_log_get_info(get(), &i);
        return detail::make(st, i);
    }
    /// Recorded checksum `index`: its frame and value.
    Result<std::pair<std::uint32_t, std::uint64_t>> checksum(std::size_t index) const {
        std::uint32_t f = 0;
        std::uint64_t c = 0;
        framelock_status st = framelock_log_checksum(get(), index, &f, &c);
        return detail::make(st, std::make_pair(f, c));
    }
    /// Replays the log through `game` (in the log's first state) and checks every checksum.
    template <class Game> Result<framelock_verify_report> verify(Game &game, std::size_t max_snapshot_size) const {
        detail::Callbacks<Game> ctx(&game);
        framelock_callbacks cb = ctx.c_struct();
        framelock_verify_report r{};
        framelock_status st = framelock_log_verify(get(), &cb, max_snapshot_size, &r);
        return ctx.finish(st, r);
    }
    /// Puts `game` into the state at the start of `frame`; returns the frame replaying started from.
    template <class Game>
    Result<std::uint32_t> seek(Game &game, std::size_t max_snapshot_size, std::uint32_t frame) const {
        detail::Callbacks<Game> ctx(&game);
        framelock_callbacks cb = ctx.c_struct();
        std::uint32_t start = 0;
        framelock_status st = framelock_log_seek(get(), &cb, max_snapshot_size, frame, &start);
        return ctx.finish(st, start);
    }
    Result<framelock_verify_report> verify_arena() const {
        framelock_verify_report r{};
        framelock_status st = framelock_log_verify_arena(get(), &r);
        return detail::make(st, r);
    }
    Result<std::uint32_t> seek_arena(Arena &arena, std::uint32_t frame) const {
        std::uint32_t start = 0;
        framelock_status st = framelock_log_seek_arena(get(), arena.get(), frame, &start);
        return detail::make(st, start);
    }
    Result<void> rewind(std::uint32_t frame) { return detail::make(framelock_log_rewind(get(), frame)); }
    /// The next frame's number, or nothing after the last.
    Result<std::optional<std::uint32_t>> next_frame() {
        std::uint32_t f = 0;
        bool has = false;
        framelock_status st = framelock_log_next_frame(get(), &f, &has);
        return detail::make(st, has ? std::optional<std::uint32_t>(f) : std::nullopt);
    }
    Result<framelock_input> input(std::uint32_t slot) const {
        framelock_input in{};
        framelock_status st = framelock_log_frame_input(get(), slot, &in);
        return detail::make(st, in);
    }

    /// Verifies the log file at `path` streaming, in bounded memory at any size (the file is never
    /// held whole): the report and errors of verify().
    template <class Game>
    static Result<framelock_verify_report> verify_file(const std::string &path, Game &game,
                                                       std::size_t max_snapshot_size) {
        detail::Callbacks<Game> ctx(&game);
        framelock_callbacks cb = ctx.c_struct();
        framelock_verify_report r{};
        framelock_status st = framelock_log_verify_file(path.c_str(), &cb, max_snapshot_size, &r);
        return ctx.finish(st, r);
    }
    /// verify_arena() of the log file at `path`, streaming.
    static Result<framelock_verify_report> verify_arena_file(const std::string &path) {
        framelock_verify_report r{};
        framelock_status st = framelock_log_verify_arena_file(path.c_str(), &r);
        return detail::make(st, r);
    }

private:
    explicit Log(framelock_log *l) noexcept : h_(l) {}
    detail::Handle<framelock_log, framelock_log_free> h_;
};

/// An input log file read streaming, frame by frame, in bounded memory (owns a
/// framelock_log_stream). No rewinding: open it again to start over.
class LogStream {
public:
    static Result<LogStream> open(const std::string &path) {
        framelock_log_stream *s = nullptr;
        framelock_status st = framelock_log_stream_open(path.c_str(), &s);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return LogStream(s);
    }
    framelock_log_stream *get() const noexcept { return h_.get(); }
    /// What was read so far (the whole file after the last frame).
    Result<framelock_log_info> info() const {
        framelock_log_info i{};
        i.struct_size = sizeof i;
        framelock_status st = framelock_log_stream_get_info(get(), &i);
        return detail::make(st, i);
    }
    /// The next frame's number, or nothing after the last.
    Result<std::optional<std::uint32_t>> next_frame() {
        std::uint32_t f = 0;
        bool has = false;
        framelock_status st = framelock_log_stream_next_frame(get(), &f, &has);
        return detail::make(st, has ? std::optional<std::uint32_t>(f) : std::nullopt);
    }
    Result<framelock_input> input(std::uint32_t slot) const {
        framelock_input in{};
        framelock_status st = framelock_log_stream_frame_input(get(), slot, &in);
        return detail::make(st, in);
    }

private:
    explicit LogStream(framelock_log_stream *s) noexcept : h_(s) {}
    detail::Handle<framelock_log_stream, framelock_log_stream_free> h_;
};

/// A network client in a relay room (owns a framelock_net_client and its socket), playing the
/// reference simulation (create()) or the engine's game (create_with()). The destructor frees it
/// without telling the relay: call disconnect() first.
class NetClient {
public:
    /// Connects with `config.token` (copied), playing the reference simulation.
    static Result<NetClient> create(const framelock_net_client_config &config) {
        framelock_net_client *c = nullptr;
        framelock_status st = framelock_net_client_new(&config, &c);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return NetClient(c, nullptr);
    }
    /// Connects, playing `game` (save/load/advance as for Session::advance_with); `game` must
    /// outlive the client. With exceptions, the game's exceptions propagate from tick().
    template <class Game> static Result<NetClient> create_with(const framelock_net_client_config &config, Game &game) {
        std::unique_ptr<detail::Callbacks<Game>> ctx(new detail::Callbacks<Game>(&game));
        framelock_callbacks cb = ctx->c_struct();
        framelock_net_client *c = nullptr;
        framelock_status st = framelock_net_client_new_with_callbacks(&config, &cb, &c);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return NetClient(c, std::move(ctx));
    }
#ifndef FRAMELOCK_NO_EXCEPTIONS
    explicit NetClient(const framelock_net_client_config &config) : NetClient(create(config).value()) {}
#endif
    framelock_net_client *get() const noexcept { return h_.get(); }
    /// One network iteration: waits at most `max_wait_ms`, receives, runs timers, sends.
    Result<void> poll(std::uint32_t max_wait_ms) { return detail::make(framelock_net_client_poll(get(), max_wait_ms)); }
    /// Ticks due now at the room's tick rate (counted as done).
    Result<std::uint32_t> ticks_due() {
        std::uint32_t n = 0;
        framelock_status st = framelock_net_client_ticks_due(get(), &n);
        return detail::make(st, n);
    }
    /// One frame with this client's input.
    Result<framelock_outcome> tick(const void *input, std::size_t len) {
        framelock_outcome o{};
        framelock_status st = framelock_net_client_tick(get(), static_cast<const std::uint8_t *>(input), len, &o);
        if (ctx_) ctx_->rethrow();
        return detail::make(st, o);
    }
    Result<bool> is_connected() const {
        bool c = false;
        framelock_status st = framelock_net_client_is_connected(get(), &c);
        return detail::make(st, c);
    }
    /// A FRAMELOCK_NET_STATE_ constant.
    Result<std::int32_t> state() const {
        std::int32_t s = 0;
        framelock_status st = framelock_net_client_state(get(), &s);
        return detail::make(st, s);
    }
    Result<void> disconnect() { return detail::make(framelock_net_client_disconnect(get())); }
    Result<framelock_net_client_stats> stats() const {
        framelock_net_client_stats s{};
        s.struct_size = sizeof s;
        framelock_status st = framelock_net_client_get_stats(get(), &s);
        return detail::make(st, s);
    }
    /// The final checksum of `frame`, or nothing while it is not final (or too old).
    Result<std::optional<std::uint64_t>> checksum(std::uint32_t frame) const {
        std::uint64_t c = 0;
        framelock_status st = framelock_net_client_checksum(get(), frame, &c);
        if (st == FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE) return std::optional<std::uint64_t>();
        return detail::make(st, std::optional<std::uint64_t>(c));
    }
    Result<std::uint32_t> current_frame() const {
        std::uint32_t f = 0;
        framelock_status st = framelock_net_client_current_frame(get(), &f);
        return detail::make(st, f);
    }
    Result<framelock_arena_player> player(std::uint32_t slot) const {
        framelock_arena_player p{};
        framelock_status st = framelock_net_client_arena_get_player(get(), slot, &p);
        return detail::make(st, p);
    }

private:
    NetClient(framelock_net_client *c, std::unique_ptr<detail::CallbacksBase> ctx) noexcept
        : ctx_(std::move(ctx)), h_(c) {}
    // Declared before the handle: the client (freed first) may call the callbacks until it is gone.
    std::unique_ptr<detail::CallbacksBase> ctx_;
    detail::Handle<framelock_net_client, framelock_net_client_free> h_;
};

/// framelock_p2p_config filled with the defaults, plus owned address strings: set_listen(),
/// add_peer(), add_spectator() and set_spectate() keep copies, and c_struct() (what
/// P2PSession::create() passes) points the C fields at them. Set the key, the local slots and the
/// rest on the struct's fields as in C.
struct P2PConfig : framelock_p2p_config {
    P2PConfig() : framelock_p2p_config() { (void)framelock_p2p_config_init(this); }
    /// The address to bind, "HOST:PORT".
    P2PConfig &set_listen(std::string host_port) { return listen_ = std::move(host_port), *this; }
    /// Slot `slot` is played at "HOST:PORT" (GGPO's ggpo_add_player with GGPO_PLAYERTYPE_REMOTE).
    P2PConfig &add_peer(std::uint32_t slot, const std::string &host_port) {
        peers_.push_back(std::to_string(slot) + "=" + host_port);
        return *this;
    }
    /// Hosts a spectator at "HOST:PORT" (GGPO_PLAYERTYPE_SPECTATOR).
    P2PConfig &add_spectator(std::string host_port) { return spectators_.push_back(std::move(host_port)), *this; }
    /// Spectates the player at "HOST:PORT" (ggpo_start_spectating): no local slots.
    P2PConfig &set_spectate(std::string host_port) {
        spectate_ = std::move(host_port);
        local_slots = 0;
        return *this;
    }
    /// The C struct, its address fields pointing into this object (valid while it lives unchanged).
    const framelock_p2p_config &c_struct() const {
        c_ = *this;
        peer_ptrs_.clear();
        spectator_ptrs_.clear();
        for (const auto &p : peers_) peer_ptrs_.push_back(p.c_str());
        for (const auto &p : spectators_) spectator_ptrs_.push_back(p.c_str());
        if (!listen_.empty()) c_.listen = listen_.c_str();
        if (!spectate_.empty()) c_.spectate = spectate_.c_str();
        if (!peers_.empty()) c_.peers = peer_ptrs_.data(), c_.peer_count = peer_ptrs_.size();
        if (!spectators_.empty()) c_.spectators = spectator_ptrs_.data(), c_.spectator_count = spectator_ptrs_.size();
        return c_;
    }

private:
    std::string listen_, spectate_;
    std::vector<std::string> peers_, spectators_;
    mutable std::vector<const char *> peer_ptrs_, spectator_ptrs_;
    mutable framelock_p2p_config c_{};
};

/// A peer-to-peer endpoint (owns a framelock_p2p and its UDP socket): GGPO's session, playing the
/// reference simulation (create()) or the engine's game (create_with()).
///
///   framelock::P2PConfig cfg;
///   std::memcpy(cfg.key, key, 32);
///   cfg.local_slots = 1u << 0;
///   cfg.set_listen("0.0.0.0:7000").add_peer(1, "198.51.100.7:7000");
///   auto p2p = framelock::P2PSession::create_with(cfg, game);
///   for (;;) {
///       p2p->poll(1);
///       for (auto n = p2p->ticks_due().value_or(0); n > 0; n--) {
///           p2p->add_local_input(0, &pad, sizeof pad);
///           p2p->tick();                           // game.save/load/advance run here
///       }
///       for (auto e = p2p->poll_event(); e && *e; e = p2p->poll_event()) { ... (*e)->kind ... }
///   }
class P2PSession {
public:
    /// Binds, and starts synchronizing with the peers, playing the reference simulation.
    static Result<P2PSession> create(const P2PConfig &config) { return create(config.c_struct()); }
    static Result<P2PSession> create(const framelock_p2p_config &config) {
        framelock_p2p *p = nullptr;
        framelock_status st = framelock_p2p_new(&config, &p);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return P2PSession(p, nullptr);
    }
    /// The same, playing `game` (save/load/advance as for Session::advance_with); `game` must
    /// outlive the endpoint. With exceptions, the game's exceptions propagate from tick().
    template <class Game> static Result<P2PSession> create_with(const P2PConfig &config, Game &game) {
        return create_with(config.c_struct(), game);
    }
    template <class Game> static Result<P2PSession> create_with(const framelock_p2p_config &config, Game &game) {
        std::unique_ptr<detail::Callbacks<Game>> ctx(new detail::Callbacks<Game>(&game));
        framelock_callbacks cb = ctx->c_struct();
        framelock_p2p *p = nullptr;
        framelock_status st = framelock_p2p_new_with_callbacks(&config, &cb, &p);
        if (st != FRAMELOCK_OK) return detail::fail(st);
        return P2PSession(p, std::move(ctx));
    }
#ifndef FRAMELOCK_NO_EXCEPTIONS
    explicit P2PSession(const P2PConfig &config) : P2PSession(create(config).value()) {}
#endif
    framelock_p2p *get() const noexcept { return h_.get(); }
    /// One network iteration (ggpo_idle): waits at most `max_wait_ms`, receives, runs timers, sends.
    Result<void> poll(std::uint32_t max_wait_ms) { return detail::make(framelock_p2p_poll(get(), max_wait_ms)); }
    /// Ticks due now (0 until every peer is synchronized).
    Result<std::uint32_t> ticks_due() {
        std::uint32_t n = 0;
        framelock_status st = framelock_p2p_ticks_due(get(), &n);
        return detail::make(st, n);
    }
    /// Stages this tick's input of a local slot (ggpo_add_local_input).
    Result<void> add_local_input(std::uint32_t slot, const void *input, std::size_t len) {
        return detail::make(
            framelock_p2p_add_local_input(get(), slot, static_cast<const std::uint8_t *>(input), len));
    }
    /// One frame with the staged inputs (ggpo_advance_frame); the game's callbacks run here.
    Result<framelock_outcome> tick() {
        framelock_outcome o{};
        framelock_status st = framelock_p2p_tick(get(), &o);
        if (ctx_) ctx_->rethrow();
        return detail::make(st, o);
    }
    /// The next event, or nothing.
    Result<std::optional<framelock_p2p_event>> poll_event() {
        framelock_p2p_event e{};
        framelock_status st = framelock_p2p_poll_event(get(), &e);
        if (st == FRAMELOCK_OK && e.kind == FRAMELOCK_P2P_EVENT_NONE) return std::optional<framelock_p2p_event>();
        return detail::make(st, std::optional<framelock_p2p_event>(e));
    }
    /// Disconnects peer `index` here (ggpo_disconnect_player); the slots go at an agreed frame.
    Result<void> disconnect_peer(std::uint32_t index) { return detail::make(framelock_p2p_disconnect_peer(get(), index)); }
    Result<std::uint32_t> peer_count() const {
        std::uint32_t n = 0;
        framelock_status st = framelock_p2p_peer_count(get(), &n);
        return detail::make(st, n);
    }
    /// Network statistics of peer `index` (ggpo_get_network_stats).
    Result<framelock_p2p_peer_stats> peer_stats(std::uint32_t index) const {
        framelock_p2p_peer_stats s{};
        s.struct_size = sizeof s;
        framelock_status st = framelock_p2p_get_peer_stats(get(), index, &s);
        return detail::make(st, s);
    }
    Result<framelock_p2p_stats> stats() const {
        framelock_p2p_stats s{};
        s.struct_size = sizeof s;
        framelock_status st = framelock_p2p_get_stats(get(), &s);
        return detail::make(st, s);
    }
    /// The final checksum of `frame`, or nothing while it is not final (or too old).
    Result<std::optional<std::uint64_t>> checksum(std::uint32_t frame) const {
        std::uint64_t c = 0;
        framelock_status st = framelock_p2p_checksum(get(), frame, &c);
        if (st == FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE) return std::optional<std::uint64_t>();
        return detail::make(st, std::optional<std::uint64_t>(c));
    }
    Result<std::uint16_t> local_port() const {
        std::uint16_t port = 0;
        framelock_status st = framelock_p2p_local_port(get(), &port);
        return detail::make(st, port);
    }
    Result<framelock_arena_player> player(std::uint32_t slot) const {
        framelock_arena_player p{};
        framelock_status st = framelock_p2p_arena_get_player(get(), slot, &p);
        return detail::make(st, p);
    }

private:
    P2PSession(framelock_p2p *p, std::unique_ptr<detail::CallbacksBase> ctx) noexcept : ctx_(std::move(ctx)), h_(p) {}
    // Declared before the handle: the endpoint (freed first) may call the callbacks until it is gone.
    std::unique_ptr<detail::CallbacksBase> ctx_;
    detail::Handle<framelock_p2p, framelock_p2p_free> h_;
};

} // namespace framelock

#endif // FRAMELOCK_HPP
