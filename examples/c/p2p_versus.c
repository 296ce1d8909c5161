/*
 * p2p_versus.c: one player of a two-player match peer to peer (no server), the reference
 * simulation (the arena) through the C ABI's framelock_p2p_* endpoint. Run it twice, one process
 * per slot, with the same key file: each synchronizes with the other, plays scripted inputs at the
 * tick rate until frame FRAMES is final, waits until the other has its inputs, prints that frame's
 * checksum (the same in both processes) and the network statistics of its peer, and exits. The
 * optional LATENCY_MS and LOSS_PER_MILLE put the library's link conditioner on its sends.
 *
 *   framelock key --out key
 *   ./p2p_versus key 0 127.0.0.1:7000 127.0.0.1:7001 600 &
 *   ./p2p_versus key 1 127.0.0.1:7001 127.0.0.1:7000 600
 *
 * usage: p2p_versus KEY_FILE SLOT LISTEN PEER FRAMES [TICK_RATE] [SEED] [LATENCY_MS LOSS_PER_MILLE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "framelock.h"

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what) {
    fprintf(stderr, "p2p_versus: %s: %s (%s)\n", what, framelock_last_error_message(),
            framelock_status_name(framelock_last_error_status()));
    return 1;
}

/* Reads the 32-byte session key: 64 hex digits, as `framelock key` writes them. */
static int read_key(const char *path, uint8_t key[32]) {
    char hex[80] = {0};
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    if (n < 64) {
        fprintf(stderr, "p2p_versus: %s does not hold 64 hex digits\n", path);
        return -1;
    }
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            fprintf(stderr, "p2p_versus: %s does not hold 64 hex digits\n", path);
            return -1;
        }
        key[i] = (uint8_t)byte;
    }
    return 0;
}

static const char *event_name(uint32_t kind) {
    switch (kind) {
    case FRAMELOCK_P2P_EVENT_SYNCHRONIZED: return "synchronized";
    case FRAMELOCK_P2P_EVENT_RUNNING: return "running";
    case FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED: return "network interrupted";
    case FRAMELOCK_P2P_EVENT_NETWORK_RESUMED: return "network resumed";
    case FRAMELOCK_P2P_EVENT_DISCONNECTING: return "disconnecting";
    case FRAMELOCK_P2P_EVENT_DISCONNECTED: return "disconnected";
    case FRAMELOCK_P2P_EVENT_WAIT_RECOMMENDATION: return "wait recommended";
    case FRAMELOCK_P2P_EVENT_PEER_TOO_FAR_BEHIND: return "peer too far behind";
    default: return NULL;
    }
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 10 || argc == 9) {
        fprintf(stderr, "usage: %s KEY_FILE SLOT LISTEN PEER FRAMES [TICK_RATE] [SEED] [LATENCY_MS LOSS_PER_MILLE]\n",
                argv[0]);
        return 2;
    }
    unsigned slot = (unsigned)strtoul(argv[2], NULL, 10);
    uint32_t frames = (uint32_t)strtoul(argv[5], NULL, 10);
    unsigned tick_rate = argc >= 7 ? (unsigned)strtoul(argv[6], NULL, 10) : 60;
    uint64_t seed = argc >= 8 ? strtoull(argv[7], NULL, 10) : 1;
    if (slot > 1) {
        fprintf(stderr, "p2p_versus: SLOT is 0 or 1\n");
        return 2;
    }

    framelock_p2p_config cfg;
    framelock_p2p_config_init(&cfg); /* 2 players, rollback, rng seed from the OS */
    if (read_key(argv[1], cfg.key) != 0) return 1;
    char peer[128];
    snprintf(peer, sizeof peer, "%u=%s", 1 - slot, argv[4]); /* the other slot, at PEER */
    const char *peers[1] = {peer};
    cfg.listen = argv[3];
    cfg.local_slots = 1u << slot;
    cfg.peers = peers;
    cfg.peer_count = 1;
    cfg.tick_rate = tick_rate;
    cfg.arena.seed = seed;
    if (argc == 10) {
        cfg.latency_ms = (uint32_t)strtoul(argv[8], NULL, 10);
        cfg.jitter_ms = cfg.latency_ms / 4;
        cfg.loss_per_mille = (uint32_t)strtoul(argv[9], NULL, 10);
        cfg.conditioner_seed = seed + slot;
    }
    framelock_p2p *p2p = NULL;
    if (framelock_p2p_new(&cfg, &p2p) != FRAMELOCK_OK) return fail("framelock_p2p_new");

    framelock_p2p_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    framelock_p2p_peer_stats ps;
    memset(&ps, 0, sizeof ps);
    ps.struct_size = sizeof ps;
    uint32_t ticks = 0;
    uint64_t checksum = 0;
    int have_checksum = 0;
    double started = now_seconds(), final_at = 0, leave_at = 0;
    double deadline = started + 30.0 + (double)frames / (double)tick_rate * 3.0;
    int rc = 0;
    for (;;) {
        if (framelock_p2p_poll(p2p, 5) != FRAMELOCK_OK) {
            rc = fail("framelock_p2p_poll");
            break;
        }
        uint32_t due = 0;
        framelock_p2p_ticks_due(p2p, &due);
        for (uint32_t i = 0; i < due; i++) {
            uint8_t input[FRAMELOCK_ARENA_INPUT_SIZE];
            framelock_arena_scripted_input(seed, slot, ++ticks, input, sizeof input);
            if (framelock_p2p_add_local_input(p2p, slot, input, sizeof input) != FRAMELOCK_OK ||
                framelock_p2p_tick(p2p, NULL) != FRAMELOCK_OK) {
                rc = fail("framelock_p2p_tick");
                goto done;
            }
        }
        framelock_p2p_event e;
        while (framelock_p2p_poll_event(p2p, &e) == FRAMELOCK_OK && e.kind != FRAMELOCK_P2P_EVENT_NONE) {
            if (e.kind == FRAMELOCK_P2P_EVENT_DESYNC) {
                fprintf(stderr, "p2p_versus: desync at frame %u: %016llx here, %016llx at slot %u\n", e.frame,
                        (unsigned long long)e.local, (unsigned long long)e.remote, e.slot);
                rc = 1;
                goto done;
            }
            if (e.kind == FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH) {
                fprintf(stderr, "p2p_versus: the peer has another %s: %llu here, %llu there\n", e.setting,
                        (unsigned long long)e.local, (unsigned long long)e.remote);
                rc = 1;
                goto done;
            }
            if (event_name(e.kind)) printf("slot %u: %s\n", slot, event_name(e.kind));
        }
        framelock_p2p_get_stats(p2p, &stats);
        framelock_p2p_get_peer_stats(p2p, 0, &ps);
        if (!have_checksum && stats.checksummed_until > frames &&
            framelock_p2p_checksum(p2p, frames, &checksum) == FRAMELOCK_OK) {
            have_checksum = 1;
            final_at = now_seconds();
        }
        /* Linger until the peer has every input it needs from here for that frame (or 5 s: it left),
         * then half a second more, still playing, so that it hears our acknowledgements too. */
        if (have_checksum && leave_at == 0 &&
            (ps.acknowledged >= frames || ps.disconnected || now_seconds() > final_at + 5.0)) {
            leave_at = now_seconds() + 0.5;
        }
        if (leave_at != 0 && now_seconds() > leave_at) break;
        if (now_seconds() > deadline) {
            fprintf(stderr, "p2p_versus: frame %u not final in time (running %d, at frame %u, confirmed %u)\n",
                    frames, (int)stats.running, stats.current_frame, stats.confirmed_until);
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        printf("slot %u: peer %s rtt %u ms, %u kbps out, %u kbps in, frame advantage %d, datagrams sent %llu "
               "received %llu lost %llu; %llu frames resimulated, %llu dropped unauthenticated\n",
               slot, ps.address, ps.rtt_ms, ps.kbps_sent, ps.kbps_received, ps.local_frame_advantage,
               (unsigned long long)ps.packets_sent, (unsigned long long)ps.packets_received,
               (unsigned long long)ps.packets_lost, (unsigned long long)stats.frames_resimulated,
               (unsigned long long)stats.dropped_unauthenticated);
        printf("slot %u: frame %u checksum 0x%016llx\n", slot, frames, (unsigned long long)checksum);
    }
done:
    framelock_p2p_free(p2p);
    return rc;
}
