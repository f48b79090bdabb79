/*
 * walk.c: counts MessagePack objects in a byte range without decoding them. The library uses it
 * to check what a handler packed into a reply, and what cnode_send is given, before the bytes
 * reach the owner: a frame with a missing or extra element would be unreadable there.
 *
 * It keeps one counter of objects still owed (an array of n owes n, a map of n owes 2n) instead
 * of recursing, so no nesting depth can exhaust the stack and nothing is allocated.
 */
#include "protocol.h"

enum { S_NONE, S_BODY, S_ARRAY, S_MAP };

/* Type bytes 0xc4..0xdf: size of the fixed part (type byte included), the width of the length
   field that follows the type byte, and what that length counts. */
static const struct {
    unsigned char head, len, what;
} s_types[] = {
    {2, 1, S_BODY},  {3, 2, S_BODY},  {5, 4, S_BODY},  /* c4-c6 bin 8/16/32 */
    {3, 1, S_BODY},  {4, 2, S_BODY},  {6, 4, S_BODY},  /* c7-c9 ext 8/16/32 (+ type byte) */
    {5, 0, S_NONE},  {9, 0, S_NONE},                   /* ca-cb float 32/64 */
    {2, 0, S_NONE},  {3, 0, S_NONE},  {5, 0, S_NONE},  {9, 0, S_NONE}, /* cc-cf uint */
    {2, 0, S_NONE},  {3, 0, S_NONE},  {5, 0, S_NONE},  {9, 0, S_NONE}, /* d0-d3 int */
    {3, 0, S_NONE},  {4, 0, S_NONE},  {6, 0, S_NONE},  {10, 0, S_NONE}, /* d4-d7 fixext 1-8 */
    {18, 0, S_NONE},                                   /* d8 fixext 16 */
    {2, 1, S_BODY},  {3, 2, S_BODY},  {5, 4, S_BODY},  /* d9-db str 8/16/32 */
    {3, 2, S_ARRAY}, {5, 4, S_ARRAY},                  /* dc-dd array 16/32 */
    {3, 2, S_MAP},   {5, 4, S_MAP},                    /* de-df map 16/32 */
};

/* Steps over the header at p (and the bytes of a str, bin or ext). Returns the bytes stepped
   over with *owed set to the elements that follow, and counts an ext value in w; 0 when the
   object is cut short, -1 when p is not MessagePack. */
static int64_t s_step(const unsigned char *p, size_t avail, uint64_t *owed, struct cnode_walk *w)
{
    unsigned b = p[0];
    uint64_t size = 1;
    *owed = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) size = 1;
    else if (b <= 0x8f) *owed = 2u * (b & 0x0f);
    else if (b <= 0x9f) *owed = b & 0x0f;
    else if (b <= 0xbf) size = 1 + (b & 0x1f);
    else if (b == 0xc1) return -1; /* never used */
    else {
        if (b == 0xd6 && avail >= 2 && p[1] == CNODE_EXT_SIDE) w->sides++; /* fixext 4 */
        else if (b == 0xc7 && avail >= 3 && p[1] == CNODE_SHARED_REF_SIZE
                 && p[2] == CNODE_EXT_SHARED)
            w->shared++; /* ext 8 */
        else if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) w->exts++;
        unsigned head = s_types[b - 0xc4].head, width = s_types[b - 0xc4].len;
        if (avail < head) return 0;
        uint64_t n = 0;
        for (unsigned i = 1; i <= width; i++) n = n << 8 | p[i];
        size = head;
        switch (s_types[b - 0xc4].what) {
        case S_BODY: size += n; break;
        case S_ARRAY: *owed = n; break;
        case S_MAP: *owed = 2 * n; break;
        }
    }
    return size <= avail ? (int64_t)size : 0;
}

int cnode_msgpack_next(const void *data, size_t size, struct cnode_walk *w)
{
    const unsigned char *start = data, *p = start, *end = p + size;
    uint64_t owed = 1;
    *w = (struct cnode_walk){0};
    while (owed > 0) {
        uint64_t more;
        int64_t step = p < end ? s_step(p, (size_t)(end - p), &more, w) : 0;
        if (step <= 0) return step == 0 ? -1 : -2;
        p += step;
        owed += more - 1;
        /* each element owed takes at least one byte: more than are left means cut short, and
           it keeps `owed` far from overflowing */
        if (owed > (uint64_t)(end - p)) return -1;
    }
    w->len = (size_t)(p - start);
    return 0;
}

int cnode_msgpack_count(const void *data, size_t size, size_t *count)
{
    const char *p = data;
    *count = 0;
    while (size > 0) {
        struct cnode_walk w;
        int rc = cnode_msgpack_next(p, size, &w);
        if (rc < 0) return rc;
        /* No ext value here, not even a side-part reference: msgpackr would decode an unknown
           ext type as an error, and some known ones as its own objects. */
        if (w.exts > 0 || w.sides > 0 || w.shared > 0) return -3;
        p += w.len;
        size -= w.len;
        ++*count;
    }
    return 0;
}
