/*
 * helpers.c: a worker for the tests of cnode_fail_code and the msgpack-c helpers of cnode.h
 * (test/errors.test.ts, test/getters.test.ts). Every request is a map; its "op" picks:
 *   fail-code {code, reason}  cnode_fail_code(node, code, "%s", reason); code absent: NULL;
 *                             code nil: cnode_fail
 *   cast-fail-code {code}     as a cast: fails it with that code (the line on stderr says so)
 *   i64 / f64 / str / bin {v, in}
 *                             the getter on key "v" of the request (of `in` instead, when the
 *                             request has it: a non-map, say), errno set to 0 before; answers
 *                             [value, errno] (i64 fallback 42, f64 fallback 1.5), or
 *                             [value or nil, len, errno] (str, bin: the bytes as they are)
 *   type {v}                  cnode_type_name of "v" (nil when absent)
 *   copy {v, size}            cnode_copy_str of "v" into a buffer of `size` bytes (at most 256),
 *                             answers [rc, errno, what buf holds after, as a string]
 *   rows {n, big}             an array of n integers 0 .. n-1 by cnode_array_begin/end, and,
 *                             with big, a bin of `big` bytes of 7 as its last element
 *   nested {n}                n arrays, the i-th holding i times the string "x", each by
 *                             cnode_array_begin/end, inside one more
 *   send-rows {n}             the same as rows, packed into its own sbuffer and sent with
 *                             cnode_send; answers the count cnode_array_end gave
 *   array-misuse              answers the errno of cnode_array_begin over a packer that is not
 *                             the reply's and no buffer, then of cnode_array_end on a header the
 *                             buffer no longer holds: [EINVAL, EINVAL]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cnode.h>

static const msgpack_object *target(const msgpack_object *req)
{
    const msgpack_object *in = cnode_map_get(req, "in");
    return in != NULL ? in : req;
}

static int pack_bytes(msgpack_packer *pk, const char *p, size_t len, int bin)
{
    if (p == NULL) return msgpack_pack_nil(pk);
    if (bin) return msgpack_pack_bin(pk, len) < 0 ? -1 : msgpack_pack_bin_body(pk, p, len);
    return msgpack_pack_str(pk, len) < 0 ? -1 : msgpack_pack_str_body(pk, p, len);
}

static int getter(const char *op, const msgpack_object *req, msgpack_packer *reply)
{
    const msgpack_object *map = target(req);
    size_t len = 99;
    errno = 0;
    if (!strcmp(op, "i64")) {
        int64_t v = cnode_get_i64(map, "v", 42);
        int e = errno;
        msgpack_pack_array(reply, 2);
        msgpack_pack_int64(reply, v);
        return msgpack_pack_int(reply, e);
    }
    if (!strcmp(op, "f64")) {
        double v = cnode_get_f64(map, "v", 1.5);
        int e = errno;
        msgpack_pack_array(reply, 2);
        msgpack_pack_double(reply, v);
        return msgpack_pack_int(reply, e);
    }
    int bin = !strcmp(op, "bin");
    const char *p = bin ? cnode_get_bin(map, "v", &len) : cnode_get_str(map, "v", &len);
    int e = errno;
    msgpack_pack_array(reply, 3);
    pack_bytes(reply, p, len, bin);
    msgpack_pack_uint64(reply, len);
    return msgpack_pack_int(reply, e);
}

static int pack_rows(msgpack_packer *pk, msgpack_sbuffer *buf, int64_t n, int64_t big,
                     uint32_t *count)
{
    cnode_array rows;
    if (cnode_array_begin(pk, buf, &rows) < 0) return -1;
    for (int64_t i = 0; i < n; i++)
        if (msgpack_pack_int64(pk, i) < 0) return -1;
    if (big > 0) {
        static char bytes[1 << 20];
        if ((size_t)big > sizeof bytes) return -1;
        memset(bytes, 7, (size_t)big);
        if (msgpack_pack_bin(pk, (size_t)big) < 0 || msgpack_pack_bin_body(pk, bytes, (size_t)big) < 0)
            return -1;
    }
    if (cnode_array_end(&rows) < 0) return -1;
    *count = rows.count;
    return 0;
}

static int handle(cnode_t *node, const msgpack_object *req, msgpack_packer *reply, void *user)
{
    (void)user;
    char op[32], code[256];
    const msgpack_object *field = cnode_map_get(req, "op");
    if (cnode_copy_str(field, op, sizeof op) < 0) return cnode_fail(node, "expected {op: string}");

    if (!strcmp(op, "fail-code") || !strcmp(op, "cast-fail-code")) {
        size_t len;
        const char *reason = cnode_get_str(req, "reason", &len);
        const msgpack_object *c = cnode_map_get(req, "code");
        if (c != NULL && c->type == MSGPACK_OBJECT_NIL)
            return cnode_fail(node, "%.*s", (int)len, reason ? reason : "");
        /* A code with a NUL byte or over 255 bytes cannot be copied: it is sent as given. */
        if (c != NULL && cnode_copy_str(c, code, sizeof code) < 0)
            return cnode_fail(node, "the test's code could not be copied");
        return cnode_fail_code(node, c ? code : NULL, "%.*s", (int)len, reason ? reason : "");
    }
    if (reply == NULL) return 0;
    if (!strcmp(op, "i64") || !strcmp(op, "f64") || !strcmp(op, "str") || !strcmp(op, "bin"))
        return getter(op, req, reply);
    if (!strcmp(op, "type")) {
        const msgpack_object *v = cnode_map_get(req, "v");
        if (v == NULL) return msgpack_pack_nil(reply);
        const char *name = cnode_type_name(v);
        return msgpack_pack_str_with_body(reply, name, strlen(name));
    }
    if (!strcmp(op, "copy")) {
        char buf[256];
        int64_t size = cnode_get_i64(req, "size", sizeof buf);
        if (size < 0 || size > (int64_t)sizeof buf) return cnode_fail(node, "size: 0 to 256");
        memset(buf, 'z', sizeof buf);
        errno = 0;
        int rc = cnode_copy_str(cnode_map_get(req, "v"), buf, (size_t)size);
        int e = errno;
        msgpack_pack_array(reply, 3);
        msgpack_pack_int(reply, rc);
        msgpack_pack_int(reply, e);
        if (size == 0) return msgpack_pack_nil(reply);
        return pack_bytes(reply, buf, strnlen(buf, (size_t)size), 0);
    }
    if (!strcmp(op, "rows")) {
        uint32_t count;
        return pack_rows(reply, NULL, cnode_get_i64(req, "n", 0), cnode_get_i64(req, "big", 0),
                         &count);
    }
    if (!strcmp(op, "nested")) {
        cnode_array outer;
        if (cnode_array_begin(reply, NULL, &outer) < 0) return -1;
        for (int64_t i = 0, n = cnode_get_i64(req, "n", 0); i < n; i++) {
            cnode_array inner;
            if (cnode_array_begin(reply, NULL, &inner) < 0) return -1;
            for (int64_t j = 0; j < i; j++) msgpack_pack_str_with_body(reply, "x", 1);
            if (cnode_array_end(&inner) < 0) return -1;
        }
        return cnode_array_end(&outer);
    }
    if (!strcmp(op, "send-rows")) {
        msgpack_sbuffer buf;
        msgpack_packer pk;
        msgpack_sbuffer_init(&buf);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        uint32_t count = 0;
        int rc = pack_rows(&pk, &buf, cnode_get_i64(req, "n", 0), 0, &count);
        if (rc == 0) rc = cnode_send(node, buf.data, buf.size);
        msgpack_sbuffer_destroy(&buf);
        if (rc < 0) return cnode_fail(node, "send-rows: %s", cnode_strerror(errno));
        return msgpack_pack_uint32(reply, count);
    }
    if (!strcmp(op, "array-misuse")) {
        msgpack_sbuffer buf, other;
        msgpack_packer pk;
        cnode_array a;
        msgpack_sbuffer_init(&buf);
        msgpack_sbuffer_init(&other);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        errno = 0;
        int no_buffer = cnode_array_begin(&pk, NULL, &a) < 0 ? errno : 0;
        errno = 0;
        int wrong_buffer = cnode_array_begin(&pk, &other, &a) < 0 ? errno : 0;
        int gone = -1;
        if (cnode_array_begin(&pk, &buf, &a) == 0) {
            msgpack_sbuffer_clear(&buf); /* the header is gone */
            errno = 0;
            gone = cnode_array_end(&a) < 0 ? errno : 0;
        }
        msgpack_sbuffer_destroy(&buf);
        msgpack_sbuffer_destroy(&other);
        msgpack_pack_array(reply, 3);
        msgpack_pack_int(reply, no_buffer);
        msgpack_pack_int(reply, wrong_buffer);
        return msgpack_pack_int(reply, gone);
    }
    return cnode_fail_code(node, "UNKNOWN_OP", "unknown op \"%s\"", op);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    int status = cnode_run(node, handle, NULL);
    cnode_destroy(node);
    return status;
}
