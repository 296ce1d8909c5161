/*
 * A minimal engine loop in C over framelock's C ABI.
 *
 * The game state is the engine's own (a plain struct): one counter per player, moved by each
 * frame's input byte. Slot 0 is local; slot 1 is a "remote" peer whose inputs arrive three frames
 * late, so the session predicts them and rolls back when the prediction was wrong. The engine
 * fulfils the requests itself: it copies its state into core-owned snapshot buffers, copies it
 * back on a load, and simulates on an advance.
 *
 * Build: cc -std=c11 -Iinclude examples/c/minimal.c -Ltarget/debug -lframelock -lpthread -ldl -lm
 */
#include <stdio.h>
#include <string.h>

#include "framelock.h"

typedef struct game_state {
    uint32_t frame;
    int32_t pos[2];
} game_state;

static int check(framelock_status st, const char *what) {
    if (st != FRAMELOCK_OK) {
        fprintf(stderr, "%s failed: %s (%s)\n", what, framelock_status_name(st), framelock_last_error_message());
        return 1;
    }
    return 0;
}

/* The peer's input for a frame: a function of the frame, so both "machines" agree. */
static uint8_t remote_input(uint32_t frame) { return (uint8_t)((frame / 7) % 3); }

static void simulate(game_state *g, const framelock_input *inputs, size_t count) {
    for (size_t i = 0; i < count && i < 2; i++) {
        int32_t step = inputs[i].len > 0 ? (int32_t)inputs[i].bytes[0] : 0;
        g->pos[inputs[i].slot] += step - 1;
    }
    g->frame++;
}

int main(void) {
    printf("framelock %s\n", framelock_version());
    framelock_session_config cfg;
    if (check(framelock_session_config_init(&cfg), "config_init")) return 1;
    cfg.slots = 2;
    cfg.local_slots = 1; /* slot 0 */
    cfg.mode = FRAMELOCK_MODE_ROLLBACK;
    cfg.max_prediction = 8;
    cfg.max_input_size = 1;
    cfg.max_snapshot_size = sizeof(game_state);

    framelock_session *s = NULL;
    if (check(framelock_session_new(&cfg, &s), "session_new")) return 1;

    game_state g;
    memset(&g, 0, sizeof g);
    framelock_input inputs[FRAMELOCK_MAX_SLOTS];
    int rc = 0;
    for (uint32_t tick = 0; tick < 300 && rc == 0; tick++) {
        uint8_t local = (uint8_t)(tick % 3);
        rc |= check(framelock_session_add_local_input(s, 0, &local, 1, NULL), "add_local_input");
        if (tick >= 3) {
            uint8_t r = remote_input(tick - 3);
            rc |= check(framelock_session_add_remote_input(s, 1, tick - 3, &r, 1), "add_remote_input");
        }
        framelock_outcome outcome;
        rc |= check(framelock_session_advance(s, &outcome), "advance");
        size_t n = 0;
        rc |= check(framelock_session_request_count(s, &n), "request_count");
        for (size_t i = 0; i < n && rc == 0; i++) {
            framelock_request req;
            rc |= check(framelock_session_request(s, i, &req), "request");
            switch (req.kind) {
            case FRAMELOCK_REQUEST_SAVE_STATE:
                rc |= check(framelock_session_save(s, req.frame, (const uint8_t *)&g, sizeof g, NULL), "save");
                break;
            case FRAMELOCK_REQUEST_LOAD_STATE: {
                const uint8_t *data = NULL;
                size_t len = 0;
                rc |= check(framelock_session_load(s, req.frame, &data, &len), "load");
                if (rc == 0 && len == sizeof g) memcpy(&g, data, sizeof g);
                break;
            }
            case FRAMELOCK_REQUEST_ADVANCE_FRAME: {
                size_t count = 0;
                rc |= check(framelock_session_request_inputs(s, i, inputs, FRAMELOCK_MAX_SLOTS, &count), "inputs");
                if (rc == 0) simulate(&g, inputs, count);
                break;
            }
            default:
                break;
            }
        }
        rc |= check(framelock_session_finish_step(s), "finish_step");
        framelock_event ev;
        while (rc == 0 && framelock_session_poll_event(s, &ev) == FRAMELOCK_OK && ev.kind != FRAMELOCK_EVENT_NONE) {
            printf("event %u at frame %u\n", ev.kind, ev.frame);
        }
    }

    framelock_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    rc |= check(framelock_session_get_stats(s, &stats), "stats");
    uint64_t checksum = 0;
    rc |= check(framelock_session_checksum(s, 290, &checksum), "checksum");
    if (rc == 0) {
        printf("frame %u pos %d %d, %llu rollbacks, checksum of frame 290 %016llx\n", g.frame, g.pos[0], g.pos[1],
               (unsigned long long)stats.rollbacks, (unsigned long long)checksum);
        /* Every frame was simulated again with the confirmed inputs before its checksum counted. */
        int32_t expect0 = 0, expect1 = 0;
        for (uint32_t f = 0; f < 300; f++) {
            expect0 += (int32_t)(f % 3) - 1;
            /* the last three frames ran on a prediction (repeat last) of the peer's input */
            expect1 += (int32_t)(f < 297 ? remote_input(f) : remote_input(296)) - 1;
        }
        if (g.pos[0] != expect0 || g.pos[1] != expect1 || stats.rollbacks == 0) {
            fprintf(stderr, "unexpected state: %d %d (want %d %d)\n", g.pos[0], g.pos[1], expect0, expect1);
            rc = 1;
        }
    }
    framelock_session_free(s);
    return rc;
}
