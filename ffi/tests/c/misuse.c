/*
 * Misuse of the C ABI: NULL handles and out-parameters, wrong struct sizes, calls out of order,
 * buffers too small, bad constants, free of NULL. Every call must return a status code and leave a
 * message, never crash (run under AddressSanitizer and UndefinedBehaviorSanitizer by
 * scripts/test-ffi).
 */
#include <stdio.h>
#include <string.h>

#include "framelock.h"

static int failures = 0;

#define EXPECT(call, want)                                                                                          \
    do {                                                                                                            \
        framelock_status got_ = (call);                                                                             \
        if (got_ != (want)) {                                                                                       \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__, #call,                 \
                    framelock_status_name(got_), framelock_status_name(want), framelock_last_error_message());       \
            failures++;                                                                                             \
        } else if ((want) != FRAMELOCK_OK &&                                                                        \
                   (strlen(framelock_last_error_message()) == 0 || framelock_last_error_status() != (want))) {      \
            fprintf(stderr, "%s:%d: %s: no message for %s\n", __FILE__, __LINE__, #call, framelock_status_name(want)); \
            failures++;                                                                                             \
        }                                                                                                           \
    } while (0)

/* 1 when `part` is in `m`, 0 when not, -1 for a NULL `part` (no check). */
static int contains(const char *m, const char *part) { return part == NULL ? -1 : strstr(m, part) != NULL; }

/* Like EXPECT, and the message contains `has` and not `lacks` (NULL: no check). */
#define EXPECT_MSG(call, want, has, lacks)                                                                          \
    do {                                                                                                            \
        EXPECT(call, want);                                                                                         \
        const char *m_ = framelock_last_error_message();                                                           \
        if (contains(m_, (has)) == 0 || contains(m_, (lacks)) == 1) {                                               \
            fprintf(stderr, "%s:%d: %s: message '%s' should contain '%s' and not '%s'\n", __FILE__, __LINE__,      \
                    #call, m_, (has) ? (has) : "", (lacks) ? (lacks) : "");                                         \
            failures++;                                                                                             \
        }                                                                                                           \
    } while (0)

static framelock_session *make_session(void) {
    framelock_session_config cfg;
    framelock_session_config_init(&cfg);
    cfg.max_input_size = 2;
    cfg.max_snapshot_size = 16;
    framelock_session *s = NULL;
    if (framelock_session_new(&cfg, &s) != FRAMELOCK_OK) {
        fprintf(stderr, "session_new: %s\n", framelock_last_error_message());
        return NULL;
    }
    return s;
}

static int cb_ok_save(void *user, uint32_t frame, framelock_snapshot *snap) {
    (void)user;
    (void)frame;
    uint8_t b[32] = {0};
    /* too large for max_snapshot_size 16: the callback sees the status and fails */
    return framelock_snapshot_write(snap, b, sizeof b) == FRAMELOCK_OK ? 0 : 1;
}
static int cb_ok_load(void *user, uint32_t frame, const uint8_t *data, size_t len) {
    (void)user;
    (void)frame;
    (void)data;
    (void)len;
    return 0;
}
static int cb_ok_advance(void *user, uint32_t frame, const framelock_input *inputs, size_t count) {
    (void)user;
    (void)frame;
    (void)inputs;
    (void)count;
    return 0;
}

/* Callbacks that call into their own session (forbidden): REENTRANT, and nothing happens. */
static framelock_session *reenter_session;
static int reentrant_seen = 0;
static int cb_reenter_advance(void *user, uint32_t frame, const framelock_input *inputs, size_t count) {
    (void)user;
    (void)frame;
    (void)inputs;
    (void)count;
    const uint8_t b[2] = {0, 0};
    framelock_outcome o;
    size_t n = 0;
    if (framelock_session_add_local_input(reenter_session, 0, b, 2, NULL) == FRAMELOCK_ERR_REENTRANT &&
        framelock_last_error_status() == FRAMELOCK_ERR_REENTRANT &&
        strstr(framelock_last_error_message(), "callback") != NULL)
        reentrant_seen++;
    if (framelock_session_advance(reenter_session, &o) == FRAMELOCK_ERR_REENTRANT) reentrant_seen++;
    if (framelock_session_request_count(reenter_session, &n) == FRAMELOCK_ERR_REENTRANT) reentrant_seen++;
    framelock_session_free(reenter_session); /* ignored from inside a callback */
    return 0;
}
static int cb_save_small(void *user, uint32_t frame, framelock_snapshot *snap) {
    (void)user;
    (void)frame;
    const uint8_t b[4] = {1, 2, 3, 4};
    return framelock_snapshot_write(snap, b, sizeof b) != FRAMELOCK_OK;
}

int main(void) {
    const uint8_t in[2] = {1, 2};
    size_t n = 0;
    uint32_t frame = 0;
    uint64_t c = 0;
    framelock_outcome o;
    framelock_request r;
    framelock_event ev;
    framelock_input inputs[4];

    /* Library functions never fail. */
    if (framelock_version() == NULL || strlen(framelock_version()) == 0) failures++;
    framelock_clear_last_error();
    if (strlen(framelock_last_error_message()) != 0) failures++;
    if (strcmp(framelock_status_name(FRAMELOCK_ERR_PANIC), "FRAMELOCK_ERR_PANIC") != 0) failures++;
    if (strcmp(framelock_status_name(12345), "FRAMELOCK_UNKNOWN_STATUS") != 0) failures++;

    /* Free of NULL. */
    framelock_session_free(NULL);
    framelock_arena_free(NULL);
    framelock_log_writer_free(NULL);
    framelock_log_free(NULL);
    framelock_net_client_free(NULL);

    /* NULL handles and out-parameters. */
    EXPECT(framelock_session_config_init(NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_new(NULL, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_add_local_input(NULL, 0, in, 2, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_add_remote_input(NULL, 1, 0, in, 2), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_advance(NULL, &o), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_request_count(NULL, &n), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_poll_event(NULL, &ev), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_finish_step(NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_checksum(NULL, 0, &c), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_arena_new(NULL, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_arena_fulfil(NULL, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_log_open(NULL, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_log_next_frame(NULL, &frame, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_log_writer_finish(NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_snapshot_write(NULL, in, 2), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_checksum64(NULL, 4, &c), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_checksum64(NULL, 0, &c), FRAMELOCK_OK); /* an empty buffer may be NULL */

    /* Wrong struct sizes. */
    framelock_session_config cfg;
    framelock_session_config_init(&cfg);
    framelock_session *s = NULL;
    cfg.struct_size = 0;
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_STRUCT_SIZE);
    if (s != NULL) failures++; /* out-parameters are written only on success */
    cfg.struct_size = sizeof cfg + 8;
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_STRUCT_SIZE);
    framelock_arena_params ap;
    framelock_arena_params_init(&ap);
    ap.struct_size = 3;
    framelock_arena *arena = NULL;
    EXPECT(framelock_arena_new(&ap, &arena), FRAMELOCK_ERR_STRUCT_SIZE);

    /* Bad configuration values. */
    framelock_session_config_init(&cfg);
    cfg.mode = 99;
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_INVALID_ARGUMENT);
    framelock_session_config_init(&cfg);
    cfg.slots = 0;
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_INVALID_CONFIG);
    framelock_session_config_init(&cfg);
    cfg.local_slots = 1ull << 40;
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_INVALID_CONFIG);
    framelock_session_config_init(&cfg);
    cfg.default_input_len = 4; /* with a NULL pointer */
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_NULL_ARGUMENT);
    framelock_arena_params_init(&ap);
    ap.players = 1000;
    EXPECT(framelock_arena_new(&ap, &arena), FRAMELOCK_ERR_INVALID_ARGUMENT);
    ap.players = 0;
    EXPECT(framelock_arena_new(&ap, &arena), FRAMELOCK_ERR_INVALID_CONFIG);

    /* What the header says, the library does (issue 11: each of these once disagreed). */
    framelock_session_config_init(&cfg);
    cfg.max_snapshot_size = 0;
    EXPECT_MSG(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_INVALID_CONFIG, "max_snapshot_size", NULL);
    framelock_session_config_init(&cfg);
    cfg.start_frame = FRAMELOCK_MAX_START_FRAME + 1u;
    EXPECT_MSG(framelock_session_new(&cfg, &s), FRAMELOCK_ERR_INVALID_CONFIG, "2147483647", NULL);
    cfg.start_frame = FRAMELOCK_MAX_START_FRAME; /* the largest accepted, as documented */
    EXPECT(framelock_session_new(&cfg, &s), FRAMELOCK_OK);
    framelock_session_free(s);
    s = NULL;
    framelock_arena_params_init(&ap);
    EXPECT(framelock_arena_snapshot_size(&ap, NULL), FRAMELOCK_OK); /* out may be NULL: checks only */
    EXPECT(framelock_arena_snapshot_size(NULL, &n), FRAMELOCK_ERR_NULL_ARGUMENT);
    ap.players = 0;
    EXPECT(framelock_arena_snapshot_size(&ap, NULL), FRAMELOCK_ERR_INVALID_CONFIG);

    /* Calls out of order and out-of-range arguments on a live session. */
    s = make_session();
    if (s == NULL) return 1;
    EXPECT(framelock_session_advance(s, &o), FRAMELOCK_ERR_MISSING_LOCAL_INPUT);
    EXPECT_MSG(framelock_session_save(s, 0, in, 2, NULL), FRAMELOCK_ERR_NO_OPEN_STEP, "framelock_session_advance",
               "begin_step");
    const uint8_t *data = NULL;
    EXPECT(framelock_session_load(s, 0, &data, &n), FRAMELOCK_ERR_NO_OPEN_STEP);
    EXPECT(framelock_session_request(s, 0, &r), FRAMELOCK_ERR_INVALID_ARGUMENT);
    EXPECT(framelock_session_add_local_input(s, 1, in, 2, NULL), FRAMELOCK_ERR_WRONG_SLOT_KIND);
    EXPECT(framelock_session_add_local_input(s, 7, in, 2, NULL), FRAMELOCK_ERR_UNKNOWN_SLOT);
    EXPECT(framelock_session_add_local_input(s, 0, in, 3, NULL), FRAMELOCK_ERR_INPUT_TOO_LONG);
    EXPECT(framelock_session_add_local_input(s, 0, NULL, 2, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_add_remote_input(s, 0, 0, in, 2), FRAMELOCK_ERR_WRONG_SLOT_KIND);
    EXPECT(framelock_session_add_remote_input(s, 1, 100000, in, 2), FRAMELOCK_ERR_BEYOND_WINDOW);
    EXPECT(framelock_session_add_input_with_status(s, 1, 0, 42, in, 2), FRAMELOCK_ERR_INVALID_ARGUMENT);
    EXPECT(framelock_session_set_input_delay(s, 1000), FRAMELOCK_ERR_INVALID_CONFIG);
    EXPECT_MSG(framelock_session_checksum(s, 0, &c), FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE, "no final checksum yet",
               "remote");
    EXPECT(framelock_session_add_local_input(s, 0, in, 2, &frame), FRAMELOCK_OK);
    if (frame != 0) failures++;
    /* A second input in the same tick is dropped (documented): NO_FRAME, and the first one stays. */
    const uint8_t other[2] = {9, 9};
    EXPECT(framelock_session_add_local_input(s, 0, other, 2, &frame), FRAMELOCK_OK);
    if (frame != FRAMELOCK_NO_FRAME) failures++;
    EXPECT(framelock_session_add_remote_input(s, 1, 0, in, 2), FRAMELOCK_OK);
    EXPECT(framelock_session_add_remote_input(s, 1, 0, in, 2), FRAMELOCK_ERR_ALREADY_CONFIRMED);
    EXPECT(framelock_session_advance(s, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_session_advance(s, &o), FRAMELOCK_OK);
    EXPECT(framelock_session_request_count(s, &n), FRAMELOCK_OK);
    if (n != 2) failures++; /* save 0, advance 0 */
    EXPECT(framelock_session_request(s, n, &r), FRAMELOCK_ERR_INVALID_ARGUMENT);
    EXPECT(framelock_session_request_inputs(s, 0, inputs, 4, &n), FRAMELOCK_ERR_INVALID_ARGUMENT); /* a save */
    EXPECT(framelock_session_request_inputs(s, 1, inputs, 1, &n), FRAMELOCK_ERR_BUFFER_TOO_SMALL);
    EXPECT(framelock_session_request_inputs(s, 1, inputs, 4, &n), FRAMELOCK_OK);
    if (n != 2 || inputs[0].len != 2 || inputs[0].bytes[0] != 1) failures++; /* the first input, not `other` */
    EXPECT(framelock_session_save(s, 5, in, 2, NULL), FRAMELOCK_ERR_NO_SUCH_SNAPSHOT); /* not a save of this step */
    uint8_t big[64] = {0};
    EXPECT(framelock_session_save(s, 0, big, sizeof big, NULL), FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE);
    uint8_t *buf = NULL;
    EXPECT(framelock_session_save_buffer(s, 0, 17, NULL, &buf), FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE);
    EXPECT(framelock_session_save_buffer(s, 0, 16, NULL, &buf), FRAMELOCK_OK);
    if (buf == NULL) failures++;
    else memset(buf, 7, 16);
    EXPECT(framelock_session_load(s, 9, &data, &n), FRAMELOCK_ERR_NO_SUCH_SNAPSHOT);
    EXPECT(framelock_session_finish_step(s), FRAMELOCK_OK);
    EXPECT(framelock_session_finish_step(s), FRAMELOCK_OK); /* twice is harmless */
    EXPECT(framelock_session_save(s, 0, in, 2, NULL), FRAMELOCK_ERR_NO_OPEN_STEP);
    EXPECT(framelock_session_disconnect_slot(s, 1, 0), FRAMELOCK_ERR_INVALID_DISCONNECT);
    framelock_stats st;
    memset(&st, 0, sizeof st);
    EXPECT(framelock_session_get_stats(s, &st), FRAMELOCK_ERR_STRUCT_SIZE);
    st.struct_size = sizeof st;
    EXPECT(framelock_session_get_stats(s, &st), FRAMELOCK_OK);
    EXPECT(framelock_session_poll_event(s, &ev), FRAMELOCK_OK);
    if (ev.kind != FRAMELOCK_EVENT_NONE) failures++;

    /* Callbacks: NULL members, wrong size, and a callback that fails. */
    framelock_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    EXPECT(framelock_session_add_local_input(s, 0, in, 2, NULL), FRAMELOCK_OK);
    EXPECT(framelock_session_advance_with(s, &cb, &o), FRAMELOCK_ERR_NULL_ARGUMENT);
    cb.save_state = cb_ok_save;
    cb.load_state = cb_ok_load;
    cb.advance_frame = cb_ok_advance;
    cb.struct_size = 1;
    EXPECT(framelock_session_advance_with(s, &cb, &o), FRAMELOCK_ERR_STRUCT_SIZE);
    cb.struct_size = sizeof cb;
    EXPECT(framelock_session_advance_with(s, &cb, &o), FRAMELOCK_ERR_SIMULATION);
    framelock_session_free(s);

    /* Re-entrant calls from a callback: refused with REENTRANT; the outer call completes. */
    reenter_session = make_session();
    if (reenter_session == NULL) return 1;
    cb.save_state = cb_save_small;
    cb.advance_frame = cb_reenter_advance;
    EXPECT(framelock_session_add_local_input(reenter_session, 0, in, 2, NULL), FRAMELOCK_OK);
    EXPECT(framelock_session_add_remote_input(reenter_session, 1, 0, in, 2), FRAMELOCK_OK);
    EXPECT(framelock_session_advance_with(reenter_session, &cb, &o), FRAMELOCK_OK);
    if (reentrant_seen != 3 || !o.advanced || o.frame != 0) {
        fprintf(stderr, "re-entrant calls: %d of 3 refused with REENTRANT (outcome frame %u)\n", reentrant_seen, o.frame);
        failures++;
    }
    framelock_session_info info;
    info.struct_size = sizeof info;
    EXPECT(framelock_session_get_info(reenter_session, &info), FRAMELOCK_OK); /* still alive: free was ignored */
    if (info.current_frame != 1) failures++;
    framelock_session_free(reenter_session);

    /* Arena: buffers too small, requests of the wrong kind. */
    uint8_t one[1];
    EXPECT(framelock_arena_scripted_input(1, 0, 0, one, sizeof one), FRAMELOCK_ERR_BUFFER_TOO_SMALL);
    framelock_arena_params_init(&ap);
    uint8_t enc[8];
    EXPECT(framelock_arena_encode_params(&ap, enc, sizeof enc, &n), FRAMELOCK_ERR_BUFFER_TOO_SMALL);
    EXPECT(framelock_arena_new(&ap, &arena), FRAMELOCK_OK);
    framelock_arena_player pl;
    EXPECT(framelock_arena_get_player(arena, 99, &pl), FRAMELOCK_ERR_INVALID_ARGUMENT);
    s = make_session();
    EXPECT(framelock_arena_advance(arena, s, 0), FRAMELOCK_ERR_INVALID_ARGUMENT);
    EXPECT(framelock_arena_save(arena, s, 0), FRAMELOCK_ERR_NO_OPEN_STEP);
    framelock_session_free(s);
    framelock_arena_free(arena);

    /* Logs: missing files, garbage, writers used after finish. */
    framelock_log *log = NULL;
    EXPECT(framelock_log_open("/nonexistent/dir/x.flog", &log), FRAMELOCK_ERR_IO);
    const uint8_t garbage[24] = "definitely not a log!!!";
    EXPECT(framelock_log_open_bytes(garbage, sizeof garbage, &log), FRAMELOCK_ERR_LOG_CORRUPT);
    const uint8_t magic_only[6] = {'F', 'L', 'O', 'G', '\r', '\n'};
    EXPECT(framelock_log_open_bytes(magic_only, sizeof magic_only, &log), FRAMELOCK_ERR_LOG_TRUNCATED);
    if (log != NULL) failures++;
    framelock_log_config lc;
    framelock_log_config_init(&lc);
    lc.slots = 1;
    lc.max_input_size = 2;
    framelock_log_writer *w = NULL;
    lc.struct_size = 0;
    EXPECT(framelock_log_writer_new(&lc, "misuse.flog", &w), FRAMELOCK_ERR_STRUCT_SIZE);
    lc.struct_size = sizeof lc;
    lc.frames_per_chunk = 0;
    EXPECT(framelock_log_writer_new(&lc, "misuse.flog", &w), FRAMELOCK_ERR_INVALID_ARGUMENT);
    lc.frames_per_chunk = 16;
    lc.slots = 0;
    EXPECT_MSG(framelock_log_writer_new(&lc, "misuse.flog", &w), FRAMELOCK_ERR_INVALID_ARGUMENT, "slots", NULL);
    lc.slots = 65;
    EXPECT_MSG(framelock_log_writer_new(&lc, "misuse.flog", &w), FRAMELOCK_ERR_INVALID_ARGUMENT, "slots", NULL);
    lc.slots = 1;
    lc.max_input_size = 1025;
    EXPECT(framelock_log_writer_new(&lc, "misuse.flog", &w), FRAMELOCK_ERR_INVALID_ARGUMENT);
    lc.max_input_size = 2;
    EXPECT(framelock_log_writer_new(&lc, NULL, &w), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_log_writer_new(&lc, "/nonexistent/dir/x.flog", &w), FRAMELOCK_ERR_IO);
    EXPECT(framelock_log_writer_new(&lc, "misuse.flog", &w), FRAMELOCK_OK);
    framelock_input li = {in, 2, 0, FRAMELOCK_INPUT_CONFIRMED};
    EXPECT(framelock_log_writer_record_frame(w, 1, &li, 1), FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER);
    EXPECT(framelock_log_writer_record_frame(w, 0, &li, 2), FRAMELOCK_ERR_INVALID_ARGUMENT);
    li.status = FRAMELOCK_INPUT_PREDICTED;
    EXPECT(framelock_log_writer_record_frame(w, 0, &li, 1), FRAMELOCK_ERR_INVALID_ARGUMENT);
    li.status = FRAMELOCK_INPUT_CONFIRMED;
    EXPECT(framelock_log_writer_record_frame(w, 0, &li, 1), FRAMELOCK_OK);
    EXPECT(framelock_log_writer_finish(w), FRAMELOCK_OK);
    EXPECT(framelock_log_writer_finish(w), FRAMELOCK_ERR_WRONG_STATE);
    EXPECT(framelock_log_writer_record_frame(w, 1, &li, 1), FRAMELOCK_ERR_WRONG_STATE);
    framelock_log_writer_free(w);
    EXPECT(framelock_log_open("misuse.flog", &log), FRAMELOCK_OK);
    framelock_input got;
    EXPECT(framelock_log_frame_input(log, 0, &got), FRAMELOCK_ERR_WRONG_STATE);
    bool has = false;
    EXPECT(framelock_log_next_frame(log, &frame, &has), FRAMELOCK_OK);
    if (!has || frame != 0) failures++;
    EXPECT(framelock_log_frame_input(log, 5, &got), FRAMELOCK_ERR_INVALID_ARGUMENT);
    EXPECT(framelock_log_frame_input(log, 0, &got), FRAMELOCK_OK);
    if (got.len != 2 || got.bytes[1] != 2) failures++;
    EXPECT(framelock_log_next_frame(log, &frame, &has), FRAMELOCK_OK);
    if (has) failures++;
    EXPECT(framelock_log_rewind(log, 5), FRAMELOCK_ERR_LOG_MISMATCH);
    EXPECT(framelock_log_checksum(log, 0, &frame, &c), FRAMELOCK_ERR_INVALID_ARGUMENT);
    framelock_verify_report rep;
    EXPECT(framelock_log_verify_arena(log, &rep), FRAMELOCK_ERR_LOG_MISMATCH); /* not an arena log */
    framelock_log_free(log);
    remove("misuse.flog");

    /* Network client: bad tokens, struct sizes, settings, NULL handles (no socket is opened). */
    static uint8_t token[FRAMELOCK_CONNECT_TOKEN_BYTES];
    memset(token, 0x5a, sizeof token);
    framelock_net_client_config ncfg;
    EXPECT(framelock_net_client_config_init(NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_config_init(&ncfg), FRAMELOCK_OK);
    if (ncfg.protocol_id != FRAMELOCK_PROTOCOL_ID || ncfg.struct_size != sizeof ncfg) failures++;
    framelock_net_client *net = NULL;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_INVALID_TOKEN); /* no token */
    ncfg.token = token;
    ncfg.token_len = sizeof token;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_INVALID_TOKEN); /* garbage */
    ncfg.token_len = 100;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_INVALID_TOKEN); /* short */
    ncfg.token = NULL;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_NULL_ARGUMENT);
    ncfg.token = token;
    ncfg.token_len = sizeof token;
    ncfg.struct_size = 8;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_STRUCT_SIZE);
    framelock_net_client_config_init(&ncfg);
    ncfg.token = token;
    ncfg.token_len = sizeof token;
    ncfg.arena.struct_size = 0;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_STRUCT_SIZE);
    framelock_net_client_config_init(&ncfg);
    ncfg.token = token;
    ncfg.token_len = sizeof token;
    ncfg.slot = ncfg.players;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_INVALID_ARGUMENT);
    ncfg.slot = 0;
    ncfg.tick_rate = 1000;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_INVALID_ARGUMENT);
    ncfg.tick_rate = 60;
    ncfg.loss_per_mille = 2000;
    EXPECT(framelock_net_client_new(&ncfg, &net), FRAMELOCK_ERR_INVALID_ARGUMENT);
    ncfg.loss_per_mille = 0;
    EXPECT(framelock_net_client_new(NULL, &net), FRAMELOCK_ERR_NULL_ARGUMENT);
    framelock_callbacks ncb;
    memset(&ncb, 0, sizeof ncb);
    ncb.struct_size = sizeof ncb;
    EXPECT(framelock_net_client_new_with_callbacks(&ncfg, NULL, &net), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_new_with_callbacks(&ncfg, &ncb, &net), FRAMELOCK_ERR_NULL_ARGUMENT); /* NULL fns */
    ncb.save_state = cb_ok_save;
    ncb.load_state = cb_ok_load;
    ncb.advance_frame = cb_ok_advance;
    EXPECT(framelock_net_client_new_with_callbacks(&ncfg, &ncb, &net), FRAMELOCK_ERR_INVALID_TOKEN);
    ncfg.max_input_size = 256;
    EXPECT(framelock_net_client_new_with_callbacks(&ncfg, &ncb, &net), FRAMELOCK_ERR_INVALID_ARGUMENT);
    ncfg.max_input_size = 8;
    ncb.struct_size = 4;
    EXPECT(framelock_net_client_new_with_callbacks(&ncfg, &ncb, &net), FRAMELOCK_ERR_STRUCT_SIZE);
    EXPECT(framelock_net_client_new_with_callbacks(NULL, &ncb, &net), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_new(&ncfg, NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    if (net != NULL) failures++;
    framelock_net_client_stats nstats;
    memset(&nstats, 0, sizeof nstats);
    nstats.struct_size = sizeof nstats;
    bool connected = false;
    int32_t state = 0;
    uint32_t due = 0;
    framelock_arena_player player;
    EXPECT(framelock_net_client_poll(NULL, 0), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_ticks_due(NULL, &due), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_tick(NULL, in, sizeof in, &o), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_is_connected(NULL, &connected), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_state(NULL, &state), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_disconnect(NULL), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_get_stats(NULL, &nstats), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_checksum(NULL, 0, &c), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_current_frame(NULL, &frame), FRAMELOCK_ERR_NULL_ARGUMENT);
    EXPECT(framelock_net_client_arena_get_player(NULL, 0, &player), FRAMELOCK_ERR_NULL_ARGUMENT);
    if (strcmp(framelock_status_name(FRAMELOCK_ERR_INVALID_TOKEN), "FRAMELOCK_ERR_INVALID_TOKEN") != 0) failures++;

    if (failures != 0) {
        fprintf(stderr, "misuse: %d failures\n", failures);
        return 1;
    }
    printf("misuse: every misuse returned its status code and a message\n");
    return 0;
}
