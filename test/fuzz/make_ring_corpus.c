/*
 * make_ring_corpus.c: writes the seeds of ring_fuzz.c into a directory, each a ring written by
 * ring.c's own producer (cnode_ring_plan, _reserve, _commit), laid out as ring_fuzz.h says. Run
 * it again after a change to the ring's format or to that layout:
 *
 *     cc -std=c11 -D_GNU_SOURCE -Icnode/src -o /tmp/make_ring_corpus test/fuzz/make_ring_corpus.c \
 *         cnode/src/ring.c && /tmp/make_ring_corpus test/fuzz/ring_corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "ring_fuzz.h"

#define S_CAPACITY RING_FUZZ_CAPACITY

struct s_seed {
    struct cnode_ring_end e;
    uint64_t start;
    unsigned char prefix[RING_FUZZ_DATA];
};

static unsigned char s_segment[CNODE_RING_HEADER_BYTES + 2 * S_CAPACITY];
static unsigned char s_bytes[2 * S_CAPACITY]; /* what inline parts hold */
static const char *s_dir;

static void s_begin(struct s_seed *s, uint64_t start)
{
    memset(s, 0, sizeof *s);
    cnode_ring_format(s_segment, S_CAPACITY);
    cnode_ring_attach(&s->e, s_segment, S_CAPACITY, CNODE_RING_TO_OWNER);
    s->e.count = s->e.peer = s->start = start; /* and the tail the input gives is 0: start */
    memcpy(s->prefix + RING_FUZZ_START, &start, 8);
}

/* A record of parts of these sizes; `how` "i" inline, "f" by descriptor, per part, or NULL
   for cnode_ring_plan's choice. */
static void s_record(struct s_seed *s, size_t n, const uint64_t *sizes, const char *how,
                     size_t extra_fds)
{
    unsigned char kinds[CNODE_RING_MAX_PARTS];
    const void *data[CNODE_RING_MAX_PARTS];
    size_t bytes = cnode_ring_plan(&s->e, sizes, n, kinds), nfds = extra_fds;
    if (how != NULL) {
        bytes = 8 + 16 * n;
        for (size_t i = 0; i < n; i++) {
            kinds[i] = how[i] == 'f' ? CNODE_RING_BY_FD : CNODE_RING_INLINE;
            if (kinds[i] == CNODE_RING_INLINE) bytes += (sizes[i] + 7) & ~(uint64_t)7;
        }
    }
    for (size_t i = 0; i < n; i++) {
        data[i] = kinds[i] == CNODE_RING_INLINE ? s_bytes : NULL;
        nfds += kinds[i] == CNODE_RING_BY_FD;
    }
    if (cnode_ring_reserve(&s->e, bytes) != 1) {
        fprintf(stderr, "make_ring_corpus: no room for a record of %zu bytes\n", bytes);
        exit(1);
    }
    cnode_ring_commit(&s->e, bytes, data, sizes, kinds, n, nfds);
}

/* Bytes no producer writes, as the next record. */
static void s_raw(struct s_seed *s, const void *bytes, size_t n)
{
    memcpy(s->e.data + (s->e.count & (S_CAPACITY - 1)), bytes, n);
    s->e.count += n;
}

static void s_step(struct s_seed *s, size_t turn, unsigned op, unsigned n, unsigned at,
                   uint32_t value)
{
    struct ring_fuzz_step st = {(uint8_t)op, (uint8_t)n, (uint16_t)at, value};
    memcpy(s->prefix + RING_FUZZ_STEP0 + 8 * turn, &st, sizeof st);
}

/* Writes the seed, with head `unpublished` bytes short of what was written. */
static void s_write(struct s_seed *s, const char *name, uint64_t unpublished)
{
    uint64_t written = s->e.count - s->start, head = written - unpublished;
    memcpy(s->prefix + RING_FUZZ_HEAD, &head, 8);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fwrite(s->prefix, 1, sizeof s->prefix, f);
    for (uint64_t i = 0; i < written; i++)
        fputc(s->e.data[(s->start + i) & (S_CAPACITY - 1)], f);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_ring_corpus <directory>\n");
        return 2;
    }
    s_dir = argv[1];
    for (size_t i = 0; i < sizeof s_bytes; i++) s_bytes[i] = (unsigned char)('a' + i % 26);
    struct s_seed s;
    const uint64_t one[] = {5}, three[] = {3, 0, 17}, four[] = {100, 200, 300, 8}, small[] = {16};

    s_begin(&s, 0);
    s_record(&s, 1, one, NULL, 0);
    s_write(&s, "one", 0);

    /* Three records; the same read without a copy; and with the producer waiting for room. */
    s_begin(&s, 0);
    s_record(&s, 1, one, NULL, 0);
    s_record(&s, 3, three, NULL, 0);
    s_record(&s, 4, four, NULL, 0);
    s_write(&s, "three", 0);
    s.prefix[RING_FUZZ_MODE] = RING_FUZZ_NO_COPY;
    s_write(&s, "three-no-copy", 0);
    s.prefix[RING_FUZZ_MODE] = 0;
    s.prefix[RING_FUZZ_WAITING] = 1;
    s_step(&s, 1, RING_FUZZ_WAIT, 0, 0, 1);
    s_write(&s, "three-waiting", 0);

    /* The largest record, exactly cnode_ring_record_max. */
    const uint64_t largest[] = {S_CAPACITY / 4 - 8 - 16};
    s_begin(&s, 0);
    s_record(&s, 1, largest, NULL, 0);
    s_write(&s, "largest", 0);

    /* A record that ends 24 bytes before the data's end, then one that does not fit there: a
       wrap mark, and the record at 0. */
    s_begin(&s, S_CAPACITY - 64);
    s_record(&s, 1, small, NULL, 0);
    s_record(&s, 1, small, NULL, 0);
    s_record(&s, 1, small, NULL, 0);
    s_write(&s, "wrap", 0);

    /* Parts by descriptor: one too big to go inline, sent before the record. */
    const uint64_t big[] = {10, 5000};
    s_begin(&s, 0);
    s_record(&s, 2, big, NULL, 0);
    s_step(&s, 0, RING_FUZZ_SEND, 1, 0, 0);
    s_write(&s, "by-fd", 0);
    s_step(&s, 0, RING_FUZZ_SEND, 1, 0, 1); /* an unsealed memfd: the owner refuses to map it */
    s_write(&s, "by-fd-unsealed", 0);
    s_step(&s, 0, RING_FUZZ_SEND, 0, 0, 0); /* a message without descriptors */
    s_write(&s, "by-fd-no-fds", 0);

    /* A part by descriptor between inline ones and two SharedBuffers, their three descriptors in
       two messages, the first before a record that has none; then the worker hangs up. */
    const uint64_t mixed[] = {20, 64, 30};
    s_begin(&s, 0);
    s_record(&s, 1, one, NULL, 0);
    s_record(&s, 3, mixed, "ifi", 2);
    s_record(&s, 1, one, NULL, 0);
    s_step(&s, 0, RING_FUZZ_SEND, 2, 0, 0);
    s_step(&s, 1, RING_FUZZ_SEND, 1, 0, 0);
    s_step(&s, 2, RING_FUZZ_HANG_UP, 0, 0, 0);
    s_write(&s, "by-fd-queued", 0);

    /* Head moves while the reader reads: the second record published before the second peek;
       published between an empty peek and the look before sleeping; the record just peeked
       rewritten before its consume (the copy keeps what was checked); head run backwards. */
    s_begin(&s, 0);
    s_record(&s, 1, one, NULL, 0);
    uint64_t first = s.e.count;
    s_record(&s, 3, three, NULL, 0);
    uint64_t second = s.e.count - first;
    s_step(&s, 1, RING_FUZZ_PUBLISH, 0, 0, (uint32_t)second);
    s_write(&s, "publish", second);
    s_step(&s, 1, RING_FUZZ_PUBLISH | RING_FUZZ_MIDWAY, 0, 0, (uint32_t)second);
    s_write(&s, "publish-before-sleep", second);
    memset(s.prefix + RING_FUZZ_STEP0, 0, 8 * RING_FUZZ_STEPS);
    s_step(&s, 0, RING_FUZZ_WRITE | RING_FUZZ_MIDWAY, 0, 1, 0xffff0041);
    s_write(&s, "rewrite-midway", 0);
    s_step(&s, 1, RING_FUZZ_REWIND, 0, 0, 8);
    s_write(&s, "rewind", 0);

    /* A size that is not a multiple of 8 (33: two descriptors, one byte), then an inline part
       after the first's padding: once accepted, pointing past the copy; refused now. */
    const unsigned char uneven[48] = {33, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x13, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0, 'x', 0, 0, 0, 0, 0, 0, 0};
    s_begin(&s, 0);
    s_record(&s, 1, one, NULL, 0);
    s_raw(&s, uneven, sizeof uneven);
    s_write(&s, "uneven-size", 0);
    return 0;
}
