/*
 * blur.c: native compute in a worker. A box blur of an 8-bit grayscale image:
 *
 *   call {width, height, radius (0..255), pixels: bin of width*height bytes}
 *     -> bin of width*height bytes, each the mean of the (2r+1) x (2r+1) square around it
 *        (pixels past the edges repeat the edge), rounded to nearest.
 *
 * Separable and with running sums, so the cost does not grow with the radius: a window sum
 * along each row, then a running sum of those down each column. Memory beyond the request and
 * the reply: three rows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cnode.h>

#define MAX_PIXELS (64u << 20) /* 64 Mi pixels: a bound on the memory one call can take */

static long clamp(long i, long n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* sums[x] = row[x-r] + ... + row[x+r], indices clamped to the row. */
static void row_sums(const uint8_t *row, long width, long r, uint32_t *sums)
{
    uint32_t s = 0;
    for (long k = -r; k <= r; k++) s += row[clamp(k, width)];
    sums[0] = s;
    for (long x = 1; x < width; x++) {
        s += row[clamp(x + r, width)];
        s -= row[clamp(x - r - 1, width)];
        sums[x] = s;
    }
}

/* Blurs `in` into the reply, one row at a time (no image-sized buffer besides the reply). */
static int blur(const uint8_t *in, long width, long height, long r, msgpack_packer *reply)
{
    uint32_t *columns = calloc((size_t)width, sizeof *columns); /* sums of row sums, y-r..y+r */
    uint32_t *sums = malloc((size_t)width * sizeof *sums);
    uint8_t *out = malloc((size_t)width);
    int rc = columns && sums && out ? 0 : -1;
    const uint32_t area = (uint32_t)((2 * r + 1) * (2 * r + 1)); /* at most 511^2 * 255 summed */

    for (long k = -r; rc == 0 && k <= r; k++) {
        row_sums(in + clamp(k, height) * width, width, r, sums);
        for (long x = 0; x < width; x++) columns[x] += sums[x];
    }
    for (long y = 0; rc == 0 && y < height; y++) {
        for (long x = 0; x < width; x++) out[x] = (uint8_t)((columns[x] + area / 2) / area);
        rc = msgpack_pack_bin_body(reply, out, (size_t)width);
        /* slide the window down: add row y+r+1, drop row y-r */
        row_sums(in + clamp(y + r + 1, height) * width, width, r, sums);
        for (long x = 0; x < width; x++) columns[x] += sums[x];
        row_sums(in + clamp(y - r, height) * width, width, r, sums);
        for (long x = 0; x < width; x++) columns[x] -= sums[x];
    }
    free(columns);
    free(sums);
    free(out);
    return rc;
}

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user)
{
    (void)user;
    if (reply == NULL) return cnode_fail(node, "blur answers calls only");
    if (request->type != MSGPACK_OBJECT_MAP)
        return cnode_fail(node, "expected a map {width, height, radius, pixels}");
    const char *names[] = {"width", "height", "radius"};
    uint64_t size[3];
    for (int i = 0; i < 3; i++) {
        const msgpack_object *o = cnode_map_get(request, names[i]);
        if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return cnode_fail(node, "%s must be a non-negative integer", names[i]);
        size[i] = o->via.u64;
    }
    uint64_t width = size[0], height = size[1], radius = size[2];
    if (width == 0 || height == 0 || width > MAX_PIXELS || height > MAX_PIXELS
        || width * height > MAX_PIXELS)
        return cnode_fail(node, "width %llu x height %llu must be 1 to %u pixels",
                          (unsigned long long)width, (unsigned long long)height, MAX_PIXELS);
    if (radius > 255)
        return cnode_fail(node, "radius %llu is over 255", (unsigned long long)radius);
    const msgpack_object *pixels = cnode_map_get(request, "pixels");
    if (pixels == NULL || pixels->type != MSGPACK_OBJECT_BIN)
        return cnode_fail(node, "pixels must be a bin");
    if (pixels->via.bin.size != width * height)
        return cnode_fail(node, "pixels has %u bytes, expected width * height = %llu",
                          pixels->via.bin.size, (unsigned long long)(width * height));

    /* The bin header, then its bytes written straight into the reply as they are computed. */
    if (msgpack_pack_bin(reply, (size_t)(width * height)) != 0) return -1;
    const uint8_t *in = (const uint8_t *)pixels->via.bin.ptr;
    if (blur(in, (long)width, (long)height, (long)radius, reply) != 0)
        return cnode_fail(node, "out of memory");
    return 0;
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    int status = cnode_run(node, handle, NULL);
    cnode_destroy(node);
    return status;
}
