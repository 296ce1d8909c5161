/*
 * net_bot.c: a bot playing the reference simulation (the arena) in a relay room through the C ABI's
 * network client. It connects with a connect token file, plays scripted inputs at the room's tick
 * rate until frame FRAMES is final, prints that frame's checksum (the same for every client of the
 * room), and leaves.
 *
 *   framelock key --out key
 *   framelock serve --listen 127.0.0.1:0 --key-file key --players 2 --tick-rate 60 &
 *   framelock token --key-file key --server 127.0.0.1:PORT --room 1 --slot 0 --client-id 1 --out t0
 *   ./net_bot t0 0 2 60 300
 *
 * usage: net_bot TOKEN_FILE SLOT PLAYERS TICK_RATE FRAMES [SEED]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "framelock.h"

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what) {
    fprintf(stderr, "net_bot: %s: %s (%s)\n", what, framelock_last_error_message(),
            framelock_status_name(framelock_last_error_status()));
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: %s TOKEN_FILE SLOT PLAYERS TICK_RATE FRAMES [SEED]\n", argv[0]);
        return 2;
    }
    unsigned slot = (unsigned)strtoul(argv[2], NULL, 10);
    unsigned players = (unsigned)strtoul(argv[3], NULL, 10);
    unsigned tick_rate = (unsigned)strtoul(argv[4], NULL, 10);
    uint32_t frames = (uint32_t)strtoul(argv[5], NULL, 10);
    uint64_t seed = argc == 7 ? strtoull(argv[6], NULL, 10) : 1;

    /* The token: FRAMELOCK_CONNECT_TOKEN_BYTES bytes, as `framelock token` wrote them. */
    static uint8_t token[FRAMELOCK_CONNECT_TOKEN_BYTES];
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t token_len = fread(token, 1, sizeof token, f);
    fclose(f);

    framelock_net_client_config cfg;
    framelock_net_client_config_init(&cfg);
    cfg.token = token;
    cfg.token_len = token_len;
    cfg.slot = slot;
    cfg.players = players;
    cfg.tick_rate = tick_rate;
    cfg.arena.seed = seed;
    framelock_net_client *client = NULL;
    if (framelock_net_client_new(&cfg, &client) != FRAMELOCK_OK) {
        return fail("framelock_net_client_new");
    }

    framelock_net_client_stats stats = {0};
    stats.struct_size = sizeof stats;
    uint32_t ticks = 0;
    double started = now_seconds();
    double deadline = started + 20.0 + (double)frames / (double)tick_rate * 3.0;
    int rc = 0;
    for (;;) {
        if (framelock_net_client_poll(client, 5) != FRAMELOCK_OK) {
            rc = fail("framelock_net_client_poll");
            break;
        }
        uint32_t due = 0;
        framelock_net_client_ticks_due(client, &due);
        for (uint32_t i = 0; i < due; i++) {
            uint8_t input[FRAMELOCK_ARENA_INPUT_SIZE];
            framelock_arena_scripted_input(seed, slot, ++ticks, input, sizeof input);
            framelock_outcome o;
            if (framelock_net_client_tick(client, input, sizeof input, &o) != FRAMELOCK_OK) {
                rc = fail("framelock_net_client_tick");
                goto done;
            }
        }
        if (framelock_net_client_get_stats(client, &stats) != FRAMELOCK_OK) {
            rc = fail("framelock_net_client_get_stats");
            break;
        }
        if (stats.state < 0) {
            fprintf(stderr, "net_bot: the connection failed (state %d)\n", (int)stats.state);
            rc = 1;
            break;
        }
        if (stats.checksummed_until > frames) {
            uint64_t checksum = 0;
            if (framelock_net_client_checksum(client, frames, &checksum) != FRAMELOCK_OK) {
                rc = fail("framelock_net_client_checksum");
                break;
            }
            framelock_arena_player p;
            framelock_net_client_arena_get_player(client, slot, &p);
            printf("net_bot slot %u: frame %u checksum 0x%016llx\n", slot, (unsigned)frames,
                   (unsigned long long)checksum);
            printf("net_bot slot %u: %llu rollbacks, input delay %u, %llu datagrams in, %llu out, score %d\n", slot,
                   (unsigned long long)stats.rollbacks, (unsigned)stats.input_delay,
                   (unsigned long long)stats.datagrams_in, (unsigned long long)stats.datagrams_out, (int)p.score);
            break;
        }
        if (now_seconds() > deadline) {
            fprintf(stderr, "net_bot: frame %u not final in time (state %d, frame %u, checksummed until %u)\n",
                    (unsigned)frames, (int)stats.state, (unsigned)stats.current_frame,
                    (unsigned)stats.checksummed_until);
            rc = 1;
            break;
        }
    }
done:
    framelock_net_client_disconnect(client);
    framelock_net_client_free(client);
    return rc;
}
