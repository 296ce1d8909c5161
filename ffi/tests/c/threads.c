/*
 * Misuse from two threads: one thread plays a session (both slots local, callbacks), another
 * calls into the same session at the same time, which the contract forbids. Every call that
 * collides must return FRAMELOCK_ERR_BUSY with a message, never another error, a crash or a
 * panic; the game thread retries and must end at the same checksum as an undisturbed run. Built
 * under ASan/UBSan and under TSan by scripts/test-ffi; the script also checks that the library
 * printed nothing on stderr.
 *
 * The game plays in rounds of FRAMES frames until the intruder has collided with it at least once
 * (or for MAX_SECONDS): on a loaded 2-core machine the threads may share one core, and then a
 * collision needs a preemption inside a call, which a single round of a few milliseconds may not
 * see. The undisturbed run then plays as many frames.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "framelock.h"

#define FRAMES 3000u
#define MAX_SECONDS 30

typedef struct {
    uint32_t frame;
    uint32_t pad;
    uint64_t acc;
} state;

static int on_save(void *user, uint32_t frame, framelock_snapshot *snap) {
    (void)frame;
    return framelock_snapshot_write(snap, (const uint8_t *)user, sizeof(state)) != FRAMELOCK_OK;
}
static int on_load(void *user, uint32_t frame, const uint8_t *data, size_t len) {
    (void)frame;
    if (len != sizeof(state)) return 1;
    memcpy(user, data, len);
    return 0;
}
static int on_advance(void *user, uint32_t frame, const framelock_input *in, size_t n) {
    state *g = user;
    for (size_t i = 0; i < n; i++) g->acc = g->acc * 31 + (in[i].len ? in[i].bytes[0] : 0) + frame;
    g->frame++;
    return 0;
}

static framelock_session *shared;
static atomic_int done, started;
static atomic_long busy_seen, other_errors;

/* Retries a call while the other thread holds the session; any other error is counted. */
static framelock_status call(framelock_status st) {
    if (st == FRAMELOCK_ERR_BUSY) {
        atomic_fetch_add(&busy_seen, 1);
        if (strstr(framelock_last_error_message(), "another thread") == NULL) atomic_fetch_add(&other_errors, 1);
    } else if (st != FRAMELOCK_OK) {
        fprintf(stderr, "unexpected %s: %s\n", framelock_status_name(st), framelock_last_error_message());
        atomic_fetch_add(&other_errors, 1);
    }
    return st;
}
#define RETRY(expr)                                                                                                 \
    while (call(expr) == FRAMELOCK_ERR_BUSY) {                                                                      \
    }

/* Plays frames `from..to`; returns the checksum of frame `to - 1`. */
static uint64_t play(framelock_session *s, state *g, uint32_t from, uint32_t to) {
    framelock_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.user = g;
    cb.save_state = on_save;
    cb.load_state = on_load;
    cb.advance_frame = on_advance;
    for (uint32_t f = from; f < to; f++) {
        for (uint32_t slot = 0; slot < 2; slot++) {
            uint8_t b = (uint8_t)(f * 3 + slot);
            RETRY(framelock_session_add_local_input(s, slot, &b, 1, NULL));
        }
        framelock_outcome o;
        RETRY(framelock_session_advance_with(s, &cb, &o));
    }
    uint64_t c = 0;
    RETRY(framelock_session_checksum(s, to - 1, &c));
    return c;
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The intruder: calls that observe and calls that change, as fast as it can. */
static void *intrude(void *arg) {
    (void)arg;
    long ok = 0;
    atomic_store(&started, 1);
    while (!atomic_load(&done)) {
        framelock_session_info info;
        info.struct_size = sizeof info;
        framelock_stats st;
        st.struct_size = sizeof st;
        uint64_t mask;
        size_t n;
        framelock_event e;
        if (call(framelock_session_get_info(shared, &info)) == FRAMELOCK_OK) ok++;
        if (call(framelock_session_get_stats(shared, &st)) == FRAMELOCK_OK) ok++;
        if (call(framelock_session_waiting_for(shared, 0, &mask)) == FRAMELOCK_OK) ok++;
        if (call(framelock_session_request_count(shared, &n)) == FRAMELOCK_OK) ok++;
        if (call(framelock_session_poll_event(shared, &e)) == FRAMELOCK_OK) ok++;
        /* Calls that change the session (here in ways the game does not notice). */
        if (call(framelock_session_finish_step(shared)) == FRAMELOCK_OK) ok++;
        if (call(framelock_session_set_input_delay(shared, 0)) == FRAMELOCK_OK) ok++;
    }
    return (void *)ok;
}

static framelock_session *make(void) {
    framelock_session_config cfg;
    framelock_session_config_init(&cfg);
    cfg.local_slots = 3;
    cfg.max_input_size = 1;
    cfg.max_snapshot_size = sizeof(state);
    framelock_session *s = NULL;
    if (framelock_session_new(&cfg, &s) != FRAMELOCK_OK) return NULL;
    return s;
}

int main(void) {
    state quiet_game = {0, 0, 1}, game = {0, 0, 1};
    framelock_session *quiet = make();
    shared = make();
    if (quiet == NULL || shared == NULL) return 1;

    pthread_t t;
    if (pthread_create(&t, NULL, intrude, NULL) != 0) return 1;
    while (!atomic_load(&started)) {
    }
    uint32_t frames = 0;
    uint64_t got = 0;
    double start = seconds();
    do {
        got = play(shared, &game, frames, frames + FRAMES);
        frames += FRAMES;
    } while (atomic_load(&busy_seen) == 0 && seconds() - start < MAX_SECONDS);
    atomic_store(&done, 1);
    void *intruder_ok;
    pthread_join(t, &intruder_ok);
    uint64_t want = play(quiet, &quiet_game, 0, frames);

    framelock_session_free(quiet);
    framelock_session_free(shared);
    long busy = atomic_load(&busy_seen), other = atomic_load(&other_errors);
    printf("threads: %u frames against an intruder: %ld BUSY, %ld intruder calls through, %ld other errors\n", frames,
           busy, (long)intruder_ok, other);
    /* The threads overlapped for MAX_SECONDS at most: a collision never reported is a bug. */
    if (other != 0 || busy == 0 || got != want || memcmp(&game, &quiet_game, sizeof game) != 0) {
        fprintf(stderr, "threads: FAILED (checksum %016llx, undisturbed %016llx)\n", (unsigned long long)got,
                (unsigned long long)want);
        return 1;
    }
    return 0;
}
