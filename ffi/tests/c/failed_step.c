/*
 * A failed step leaves session and game consistent: when the game's save, load or advance fails
 * (a callback returns nonzero, or the engine aborts a pulled step), the session does not count the
 * frame and the next advance asks for it again, loading a saved state first when the game's state
 * is unknown. Runs with only local players and with a remote peer (inputs 3 frames late), through
 * callbacks and through pulled requests, in a local sync test (which loads every frame), a local
 * rollback session and two rollback peers, and checks that the game ends where a run without
 * failures ends, with the same checksums.
 */
#include <stdio.h>
#include <string.h>

#include "framelock.h"

#define FRAMES 80u
#define LAG 3u

enum fault_kind { NONE, SAVE, LOAD, ADVANCE };

typedef struct {
    uint32_t frame;
    uint32_t pad; /* zeroed: the snapshot is the struct's bytes */
    uint64_t acc[2];
} state;

typedef struct {
    state s;
    enum fault_kind fault;
    uint32_t fault_frame;
    int failures;
} game;

static int failures = 0;
#define CHECK(cond, ...)                                                                                            \
    do {                                                                                                            \
        if (!(cond)) {                                                                                              \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                                         \
            fprintf(stderr, __VA_ARGS__);                                                                           \
            fprintf(stderr, " (%s)\n", framelock_last_error_message());                                             \
            failures++;                                                                                             \
        }                                                                                                           \
    } while (0)

static int fail(game *g) {
    g->fault = NONE;
    g->failures++;
    g->s.frame += 1000; /* half done: garbage */
    g->s.acc[0] = 0xdead;
    return 1;
}

static int on_save(void *user, uint32_t frame, framelock_snapshot *snap) {
    game *g = user;
    if (frame != g->s.frame) return 1;
    if (g->fault == SAVE && frame == g->fault_frame) {
        g->fault = NONE;
        g->failures++;
        framelock_snapshot_write(snap, (const uint8_t *)"xx", 2);
        return 1;
    }
    return framelock_snapshot_write(snap, (const uint8_t *)&g->s, sizeof g->s) != FRAMELOCK_OK;
}

static int on_load(void *user, uint32_t frame, const uint8_t *data, size_t len) {
    game *g = user;
    if (g->fault == LOAD && frame >= g->fault_frame) return fail(g);
    if (len != sizeof g->s) return 1;
    memcpy(&g->s, data, len);
    return g->s.frame != frame;
}

static int on_advance(void *user, uint32_t frame, const framelock_input *in, size_t n) {
    game *g = user;
    if (frame != g->s.frame) return 1;
    if (g->fault == ADVANCE && frame == g->fault_frame) return fail(g);
    for (size_t i = 0; i < n; i++) {
        uint64_t b = in[i].len ? in[i].bytes[0] : 0;
        g->s.acc[in[i].slot] = g->s.acc[in[i].slot] * 31 + b + frame;
    }
    g->s.frame++;
    return 0;
}

/* One step through pulled requests; on a failure the engine aborts the step at that request. */
static framelock_status pulled_step(framelock_session *s, game *g) {
    framelock_outcome o;
    framelock_status st = framelock_session_advance(s, &o);
    if (st != FRAMELOCK_OK) return st;
    size_t n = 0;
    framelock_session_request_count(s, &n);
    for (size_t i = 0; i < n; i++) {
        framelock_request r;
        framelock_session_request(s, i, &r);
        int bad = 0;
        if (r.kind == FRAMELOCK_REQUEST_SAVE_STATE) {
            if (g->fault == SAVE && r.frame == g->fault_frame) {
                g->fault = NONE;
                g->failures++;
                bad = 1;
            } else {
                bad = framelock_session_save(s, r.frame, (const uint8_t *)&g->s, sizeof g->s, NULL) != FRAMELOCK_OK;
            }
        } else if (r.kind == FRAMELOCK_REQUEST_LOAD_STATE) {
            const uint8_t *data;
            size_t len;
            bad = framelock_session_load(s, r.frame, &data, &len) != FRAMELOCK_OK || on_load(g, r.frame, data, len);
        } else {
            framelock_input in[2];
            size_t count;
            bad = framelock_session_request_inputs(s, i, in, 2, &count) != FRAMELOCK_OK ||
                  on_advance(g, r.frame, in, count);
        }
        if (bad) {
            st = framelock_session_abort_step(s, i);
            return st == FRAMELOCK_OK ? FRAMELOCK_ERR_SIMULATION : st;
        }
    }
    return framelock_session_finish_step(s);
}

static uint32_t current(framelock_session *s) {
    framelock_session_info info;
    info.struct_size = sizeof info;
    framelock_session_get_info(s, &info);
    return info.current_frame;
}

static uint8_t input(uint32_t slot, uint32_t frame) { return (uint8_t)((frame * 7 + slot * 3) % 5); }

/* Runs 1 (both slots local) or 2 peers to FRAMES; writes peer 0's final checksums and game. */
/* `setup`: 0 a local sync test (both slots local, a load every frame), 1 a local rollback session,
 * 2 two rollback peers. */
static void run(int setup, int pulled, enum fault_kind kind, uint32_t at, uint64_t *sums, state *end) {
    int peers = setup == 2 ? 2 : 1;
    framelock_session *s[2] = {NULL, NULL};
    game g[2];
    memset(g, 0, sizeof g);
    typedef struct {
        uint32_t frame, tick;
        uint8_t b;
    } sent_input;
    static sent_input sent[2][4 * FRAMES];
    size_t nsent[2] = {0, 0};
    for (int p = 0; p < peers; p++) {
        framelock_session_config cfg;
        framelock_session_config_init(&cfg);
        cfg.local_slots = peers == 2 ? (1u << p) : 3u;
        cfg.mode = setup == 0 ? FRAMELOCK_MODE_SYNC_TEST : FRAMELOCK_MODE_ROLLBACK;
        cfg.max_input_size = 1;
        cfg.max_snapshot_size = sizeof(state);
        if (framelock_session_new(&cfg, &s[p]) != FRAMELOCK_OK) {
            CHECK(0, "session_new");
            return;
        }
        g[p].s.acc[0] = 1;
        g[p].s.acc[1] = 2;
    }
    g[0].fault = kind;
    g[0].fault_frame = at;
    framelock_callbacks cb[2];
    for (int p = 0; p < peers; p++) {
        cb[p].struct_size = sizeof cb[p];
        cb[p].user = &g[p];
        cb[p].save_state = on_save;
        cb[p].load_state = on_load;
        cb[p].advance_frame = on_advance;
    }
    int reported = 0;
    for (uint32_t tick = 0; current(s[0]) < FRAMES || (peers == 2 && current(s[1]) < FRAMES); tick++) {
        if (tick > 10 * FRAMES) {
            CHECK(0, "no progress");
            break;
        }
        for (int p = 0; p < peers; p++) {
            /* The pad is read per frame, so that a run that redoes a frame sees the same inputs. */
            uint32_t now = current(s[p]);
            for (uint32_t slot = 0; slot < 2; slot++) {
                if (peers == 2 && slot != (uint32_t)p) continue;
                uint8_t b = input(slot, now);
                uint32_t f;
                framelock_session_add_local_input(s[p], slot, &b, 1, &f);
                if (f != FRAMELOCK_NO_FRAME) sent[p][nsent[p]++] = (sent_input){f, tick, b};
            }
            if (peers == 2) {
                int o = 1 - p;
                for (size_t i = 0; i < nsent[o]; i++)
                    if (sent[o][i].tick + LAG == tick)
                        framelock_session_add_remote_input(s[p], (uint32_t)o, sent[o][i].frame, &sent[o][i].b, 1);
            }
            uint32_t before = current(s[p]);
            framelock_outcome out;
            framelock_status st = pulled ? pulled_step(s[p], &g[p]) : framelock_session_advance_with(s[p], &cb[p], &out);
            if (st != FRAMELOCK_OK) {
                reported++;
                CHECK(st == FRAMELOCK_ERR_SIMULATION, "status %s", framelock_status_name(st));
                CHECK(current(s[p]) == before, "the failed frame %u was counted", before);
            }
        }
    }
    CHECK(reported == (kind != NONE), "fault %d at %u: %d failures reported", kind, at, reported);
    CHECK(g[0].failures == (kind != NONE), "fault %d at %u never fired", kind, at);
    for (uint32_t f = 0; f < FRAMES - LAG - 2; f++) {
        uint64_t c[2] = {0, 0};
        for (int p = 0; p < peers; p++) CHECK(framelock_session_checksum(s[p], f, &c[p]) == FRAMELOCK_OK, "checksum %u", f);
        if (peers == 2) CHECK(c[0] == c[1], "frame %u: the peers disagree", f);
        sums[f] = c[0];
    }
    *end = g[0].s;
    for (int p = 0; p < peers; p++) framelock_session_free(s[p]);
}

int main(void) {
    static const struct {
        int setup; /* as run() takes it */
        enum fault_kind kind;
        uint32_t at;
    } cases[] = {
        {0, ADVANCE, 0}, {0, ADVANCE, 21}, {0, SAVE, 0}, {0, SAVE, 9}, {0, LOAD, 5}, {0, LOAD, 33},
        {1, ADVANCE, 0}, {1, ADVANCE, 17}, {1, SAVE, 0}, {1, SAVE, 9},
        {2, ADVANCE, 12}, {2, ADVANCE, 40}, {2, SAVE, 20}, {2, LOAD, 10}, {2, LOAD, 50},
    };
    for (int pulled = 0; pulled < 2; pulled++) {
        for (int setup = 0; setup <= 2; setup++) {
            uint64_t want[FRAMES], got[FRAMES];
            state want_end, got_end;
            run(setup, pulled, NONE, 0, want, &want_end);
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                if (cases[i].setup != setup) continue;
                run(setup, pulled, cases[i].kind, cases[i].at, got, &got_end);
                CHECK(memcmp(want, got, sizeof(uint64_t) * (FRAMES - LAG - 2)) == 0,
                      "fault %d at %u (%s, setup %d): other checksums than without it", cases[i].kind, cases[i].at,
                      pulled ? "pulled" : "callbacks", setup);
                /* With a remote peer the last frames are predictions, which depend on what arrived when. */
                CHECK(setup == 2 || memcmp(&want_end, &got_end, sizeof want_end) == 0,
                      "fault %d at %u: the game ends elsewhere", cases[i].kind, cases[i].at);
            }
        }
    }
    if (failures) {
        fprintf(stderr, "failed_step: %d failures\n", failures);
        return 1;
    }
    printf("failed_step: every failed save, load and advance was redone, and the games agree\n");
    return 0;
}
