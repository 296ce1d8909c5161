/*
 * Desync forensics: when a sync test finds a mismatch, or a peer's checksum differs from ours,
 * write the snapshots involved to files and diff them (what GGPO users do with log_game_state).
 *
 * Part 1 runs a sync test over a game with a hidden nondeterminism (it reads a counter that is not
 * part of its state); part 2 runs two rollback peers, one of which drifts at frame 20, exchanging
 * a checksum every frame. Each writes the snapshots to ./forensics-*.bin; `cmp -l` shows the bytes
 * that differ. Exits 0 when both problems were found and the files written match the checksums
 * the events reported.
 */
#include <stdio.h>
#include <string.h>

#include "framelock.h"

typedef struct {
    uint32_t frame;
    uint32_t pad;
    int64_t x, y;
} state;

typedef struct {
    state s;
    uint32_t calls; /* NOT part of the state: the bug part 1 finds */
    int drift_at;   /* part 2: this peer's simulation differs from this frame on (-1: never) */
} game;

static int on_save(void *user, uint32_t frame, framelock_snapshot *snap) {
    (void)frame;
    game *g = user;
    return framelock_snapshot_write(snap, (const uint8_t *)&g->s, sizeof g->s) != FRAMELOCK_OK;
}
static int on_load(void *user, uint32_t frame, const uint8_t *data, size_t len) {
    (void)frame;
    game *g = user;
    if (len != sizeof g->s) return 1;
    memcpy(&g->s, data, len);
    return 0;
}
static int on_advance(void *user, uint32_t frame, const framelock_input *in, size_t n) {
    game *g = user;
    for (size_t i = 0; i < n; i++) g->s.x += in[i].len ? in[i].bytes[0] : 0;
    g->s.y += g->s.x;
    if (g->drift_at < 0 && frame >= 10) g->s.y += ++g->calls % 2; /* depends on how often we ran */
    if (g->drift_at >= 0 && (int)frame >= g->drift_at) g->s.y += 1;
    g->s.frame++;
    return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static int same_checksum(const uint8_t *data, size_t len, uint64_t want) {
    uint64_t c = 0;
    return framelock_checksum64(data, len, &c) == FRAMELOCK_OK && c == want;
}

static framelock_callbacks callbacks(game *g) {
    framelock_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.user = g;
    cb.save_state = on_save;
    cb.load_state = on_load;
    cb.advance_frame = on_advance;
    return cb;
}

/* Part 1: a sync test finds the mismatch; both snapshots go to files. */
static int sync_test(void) {
    framelock_session_config cfg;
    framelock_session_config_init(&cfg);
    cfg.mode = FRAMELOCK_MODE_SYNC_TEST;
    cfg.local_slots = 3;
    cfg.max_input_size = 1;
    cfg.max_snapshot_size = sizeof(state);
    framelock_session *s = NULL;
    if (framelock_session_new(&cfg, &s) != FRAMELOCK_OK) return 1;
    game g;
    memset(&g, 0, sizeof g);
    g.drift_at = -1;
    framelock_callbacks cb = callbacks(&g);
    int found = 0;
    for (uint32_t f = 0; f < 60 && !found; f++) {
        uint8_t in = (uint8_t)(f % 3);
        framelock_session_add_local_input(s, 0, &in, 1, NULL);
        framelock_session_add_local_input(s, 1, &in, 1, NULL);
        framelock_outcome o;
        if (framelock_session_advance_with(s, &cb, &o) != FRAMELOCK_OK) return 1;
        framelock_event e;
        while (framelock_session_poll_event(s, &e) == FRAMELOCK_OK && e.kind != FRAMELOCK_EVENT_NONE) {
            if (e.kind != FRAMELOCK_EVENT_SYNC_TEST_MISMATCH || found) continue;
            framelock_mismatch m;
            if (framelock_session_sync_test_mismatch(s, &m) != FRAMELOCK_OK) return 1;
            char first[64], second[64];
            snprintf(first, sizeof first, "forensics-sync-%u-first.bin", m.frame);
            snprintf(second, sizeof second, "forensics-sync-%u-second.bin", m.frame);
            if (write_file(first, m.first, m.first_len) || write_file(second, m.second, m.second_len)) return 1;
            printf("sync test: frame %u differs on resimulation: wrote %s and %s\n", m.frame, first, second);
            found = m.frame == e.frame && same_checksum(m.first, m.first_len, e.local_checksum) &&
                    same_checksum(m.second, m.second_len, e.remote_checksum) && m.first_len == m.second_len &&
                    memcmp(m.first, m.second, m.first_len) != 0;
            if (!found) return 1;
        }
    }
    framelock_session_free(s);
    return found ? 0 : 1;
}

/* Part 2: two peers exchange inputs (2 ticks late) and a checksum every frame; B drifts. */
static int desync(void) {
    framelock_session *s[2];
    game g[2];
    memset(g, 0, sizeof g);
    g[0].drift_at = 1000000;
    g[1].drift_at = 20;
    for (int p = 0; p < 2; p++) {
        framelock_session_config cfg;
        framelock_session_config_init(&cfg);
        cfg.local_slots = 1u << p;
        cfg.max_input_size = 1;
        cfg.max_snapshot_size = sizeof(state);
        if (framelock_session_new(&cfg, &s[p]) != FRAMELOCK_OK) return 1;
    }
    uint8_t sent[2][200];
    uint32_t sent_sum_until[2] = {0, 0};
    int found = 0;
    for (uint32_t t = 0; t < 120 && found < 2; t++) {
        for (int p = 0; p < 2; p++) {
            int o = 1 - p;
            uint8_t in = (uint8_t)((t * 7 + (uint32_t)p) % 4);
            uint32_t f;
            framelock_session_add_local_input(s[p], (uint32_t)p, &in, 1, &f);
            if (f != FRAMELOCK_NO_FRAME) sent[p][f] = in;
            if (t >= 2) framelock_session_add_remote_input(s[p], (uint32_t)o, t - 2, &sent[o][t - 2], 1);
            framelock_callbacks cb = callbacks(&g[p]);
            framelock_outcome out;
            if (framelock_session_advance_with(s[p], &cb, &out) != FRAMELOCK_OK) return 1;
            /* Send our newly final checksums to the other peer (here: hand them over at once). */
            framelock_session_info info;
            info.struct_size = sizeof info;
            framelock_session_get_info(s[p], &info);
            for (; sent_sum_until[p] < info.checksummed_until; sent_sum_until[p]++) {
                uint64_t c;
                if (framelock_session_checksum(s[p], sent_sum_until[p], &c) == FRAMELOCK_OK)
                    framelock_session_add_remote_checksum(s[o], (uint32_t)p, sent_sum_until[p], c);
            }
        }
        for (int p = 0; p < 2; p++) {
            framelock_event e;
            while (framelock_session_poll_event(s[p], &e) == FRAMELOCK_OK && e.kind != FRAMELOCK_EVENT_NONE) {
                if (e.kind != FRAMELOCK_EVENT_DESYNC || found & (1 << p)) continue;
                const uint8_t *data;
                size_t len;
                if (framelock_session_snapshot(s[p], e.frame, &data, &len) != FRAMELOCK_OK) {
                    fprintf(stderr, "%s\n", framelock_last_error_message());
                    return 1;
                }
                char path[64];
                snprintf(path, sizeof path, "forensics-desync-%u-peer%d.bin", e.frame, p);
                if (write_file(path, data, len) || !same_checksum(data, len, e.local_checksum)) return 1;
                printf("desync: peer %d, frame %u (ours %016llx, theirs %016llx): wrote %s\n", p, e.frame,
                       (unsigned long long)e.local_checksum, (unsigned long long)e.remote_checksum, path);
                found |= 1 << p;
            }
        }
    }
    framelock_session_free(s[0]);
    framelock_session_free(s[1]);
    return found == 3 ? 0 : 1;
}

int main(void) {
    if (sync_test() != 0) {
        fprintf(stderr, "forensics: the sync-test mismatch was not found or not written\n");
        return 1;
    }
    if (desync() != 0) {
        fprintf(stderr, "forensics: the desync snapshots were not found or not written\n");
        return 1;
    }
    printf("forensics: diff the files, e.g. cmp -l forensics-desync-*-peer0.bin forensics-desync-*-peer1.bin\n");
    return 0;
}
