/*
 * sha256.c: a compute worker for the pool scenarios (scaling, piscina), hashing with
 * libcrypto's SHA-256, the same code node:crypto runs here (Node 20 is linked to the system's
 * OpenSSL 3.0, which uses the CPU's SHA extensions where it has them). Two kinds of call:
 *
 *   a binary (a Buffer, or a view of a SharedBuffer)   -> its SHA-256, a bin of 32 bytes
 *   {op: 'work', rounds: n}                             -> {digest: bin 32, ns: uint}
 *       n chained SHA-256s of a 4 KiB buffer the worker holds (each round's digest becomes the
 *       first 32 bytes of the next round's input, so no round can be skipped or overlapped);
 *       ns is the CPU time the handler spent on them (CLOCK_THREAD_CPUTIME_ID), which the
 *       bench uses to size its tasks. The buffer starts as bytes i & 0xff, i = 0..4095, so the
 *       bench can check the digest against node:crypto.
 *
 * Built only where pkg-config finds libcrypto (Debian: libssl-dev); see CMakeLists.txt.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <cnode.h>

#define WORK_BYTES 4096
#define MAX_ROUNDS 100000000u

typedef struct {
    EVP_MD *sha256;  /* fetched once: an implicit fetch per digest costs a lookup each time */
    EVP_MD_CTX *ctx; /* reused for every digest */
    uint8_t work[WORK_BYTES];
} hasher_t;

static int digest(hasher_t *h, const void *data, size_t size, uint8_t out[32])
{
    unsigned len = 0;
    if (EVP_DigestInit_ex(h->ctx, h->sha256, NULL) != 1 || EVP_DigestUpdate(h->ctx, data, size) != 1
        || EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != 32)
        return -1;
    return 0;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int work(cnode_t *node, hasher_t *h, const msgpack_object *request, msgpack_packer *reply)
{
    const msgpack_object *rounds = cnode_map_get(request, "rounds");
    if (rounds == NULL || rounds->type != MSGPACK_OBJECT_POSITIVE_INTEGER || rounds->via.u64 == 0
        || rounds->via.u64 > MAX_ROUNDS)
        return cnode_fail(node, "rounds must be an integer from 1 to %u", MAX_ROUNDS);
    uint64_t start = thread_cpu_ns();
    uint8_t input[WORK_BYTES];
    uint8_t out[32];
    memcpy(input, h->work, WORK_BYTES);
    for (uint64_t i = 0; i < rounds->via.u64; i++) {
        if (digest(h, input, WORK_BYTES, out) != 0) return cnode_fail(node, "SHA-256 failed");
        memcpy(input, out, sizeof out);
    }
    uint64_t ns = thread_cpu_ns() - start;
    if (msgpack_pack_map(reply, 2) != 0 || msgpack_pack_str_with_body(reply, "digest", 6) != 0
        || msgpack_pack_bin_with_body(reply, out, sizeof out) != 0
        || msgpack_pack_str_with_body(reply, "ns", 2) != 0 || msgpack_pack_uint64(reply, ns) != 0)
        return -1;
    return 0;
}

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user)
{
    hasher_t *h = user;
    if (reply == NULL) return 0; /* a cast: nothing to answer */
    if (request->type == MSGPACK_OBJECT_BIN) {
        uint8_t out[32];
        if (digest(h, request->via.bin.ptr, request->via.bin.size, out) != 0)
            return cnode_fail(node, "SHA-256 failed");
        return msgpack_pack_bin_with_body(reply, out, sizeof out);
    }
    const msgpack_object *op = cnode_map_get(request, "op");
    if (op != NULL && op->type == MSGPACK_OBJECT_STR && op->via.str.size == 4
        && memcmp(op->via.str.ptr, "work", 4) == 0)
        return work(node, h, request, reply);
    return cnode_fail(node, "expected a binary to hash, or {op: 'work', rounds}");
}

int main(int argc, char **argv)
{
    static hasher_t h;
    for (int i = 0; i < WORK_BYTES; i++) h.work[i] = (uint8_t)i;
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1; /* the reason is on stderr */
    h.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    h.ctx = EVP_MD_CTX_new();
    int status = 1;
    if (h.sha256 != NULL && h.ctx != NULL)
        status = cnode_run(node, handle, &h);
    else
        fprintf(stderr, "sha256: libcrypto has no SHA256\n");
    EVP_MD_CTX_free(h.ctx);
    EVP_MD_free(h.sha256);
    cnode_destroy(node);
    return status;
}
