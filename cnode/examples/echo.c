/*
 * echo.c: a small worker that answers each call by an "op" (and the demo's test subject).
 *
 *   anything but a map with an "op" -> the same object back
 *   {op: "echo", value}        -> value
 *   {op: "scale", factor, data} -> data (float64 values as a binary) multiplied in place
 *   {op: "scale", factor, data, answer: "count"} -> the same, answering how many values (for a
 *                                SharedBuffer, whose bytes the owner sees changed already)
 *   {op: "add", a, b}          -> a + b (an integer if both are, otherwise a float)
 *   {op: "sum", values: [...]} -> the sum of the numbers
 *   {op: "fail", reason}       -> the call fails with that reason
 *   {op: "notify", value}      -> sends value to the owner as a message, answers true
 *   {op: "set", value}         -> keeps a copy of value (usually sent as a cast)
 *   {op: "get"}                -> the value kept by "set", or nil
 *   {op: "info"}               -> {name, alive, host, creation, args}
 *   {op: "sleep", ms}          -> sleeps, answers ms
 *   {op: "stop"}               -> answers true, then the worker ends
 *   {op: "exit", code}         -> exits at once with that code (no answer)
 *   {op: "crash"}              -> dies of SIGSEGV (no answer)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cnode.h>

/* The value kept by "set": its packed bytes, and those bytes unpacked (the msgpack_object tree
   points into both, so it lives as long as they do). */
struct store {
    msgpack_sbuffer bytes;
    msgpack_unpacked value;
    int has_value;
};

static int is_int(const msgpack_object *o)
{
    return o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
}

static int is_number(const msgpack_object *o)
{
    return is_int(o) || (o && (o->type == MSGPACK_OBJECT_FLOAT32
                               || o->type == MSGPACK_OBJECT_FLOAT64));
}

static double as_double(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return (double)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return (double)o->via.i64;
    return o->via.f64;
}

/* Sums numbers: exact 128-bit integer arithmetic while they are all integers, and a 64-bit
   integer answer when the sum fits one (unsigned up to 2^64-1, signed down to -2^63). */
struct total {
    __int128 i;
    double f;
    int any_float;
};

static void total_add(struct total *t, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) t->i += o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) t->i += o->via.i64;
    else t->any_float = 1;
    t->f += as_double(o);
}

static int total_pack(cnode_t *node, const struct total *t, msgpack_packer *reply)
{
    if (t->any_float) return msgpack_pack_double(reply, t->f);
    if (t->i >= 0 && t->i <= (__int128)UINT64_MAX)
        return msgpack_pack_uint64(reply, (uint64_t)t->i);
    if (t->i < 0 && t->i >= (__int128)INT64_MIN)
        return msgpack_pack_int64(reply, (int64_t)t->i);
    return cnode_fail(node, "the sum does not fit a 64-bit integer");
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* A packer that throws its bytes away: a cast (reply == NULL) runs the same code as a call. */
static int discard(void *data, const char *buf, size_t len)
{
    (void)data, (void)buf, (void)len;
    return 0;
}

/* The "crash" op: a real segmentation fault, a write through a null pointer. Volatile, so the
   compiler cannot prove the write undefined and drop it; out of UBSan's reach, which would
   otherwise end the sanitizer build (CNODE_SANITIZE) with exit code 1 instead of SIGSEGV. */
static int *volatile null_pointer = NULL;

#if defined(__GNUC__)
__attribute__((no_sanitize("undefined")))
#endif
static void crash(void)
{
    *null_pointer = 1;
}

/* Whether the op string is `name`. */
#define OP(name) \
    (op->via.str.size == strlen(name) && memcmp(op->via.str.ptr, name, strlen(name)) == 0)

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user)
{
    struct store *store = user;
    msgpack_packer nowhere;
    if (reply == NULL) {
        msgpack_packer_init(&nowhere, NULL, discard);
        reply = &nowhere;
    }
    const msgpack_object *op = cnode_map_get(request, "op");
    if (op == NULL) return cnode_pack_object(node, reply, request);
    if (op->type != MSGPACK_OBJECT_STR) return cnode_fail(node, "op must be a string");
    const msgpack_object *value = cnode_map_get(request, "value");

    if (OP("echo")) {
        return value ? cnode_pack_object(node, reply, value) : msgpack_pack_nil(reply);
    }
    if (OP("scale")) {
        /* In place, in the request's own bytes, which then go back without a copy. */
        const msgpack_object *factor = cnode_map_get(request, "factor");
        const msgpack_object *data = cnode_map_get(request, "data");
        if (!is_number(factor)) return cnode_fail(node, "scale: factor must be a number");
        if (data == NULL || data->type != MSGPACK_OBJECT_BIN || data->via.bin.size % 8 != 0)
            return cnode_fail(node, "scale: data must be a binary of float64 values");
        char *bytes = (char *)data->via.bin.ptr;
        double by = as_double(factor), x;
        for (uint32_t i = 0; i < data->via.bin.size; i += 8) { /* memcpy: maybe unaligned */
            memcpy(&x, bytes + i, sizeof x);
            x *= by;
            memcpy(bytes + i, &x, sizeof x);
        }
        /* A SharedBuffer's bytes are the owner's already: answer how many values, not them. */
        const msgpack_object *answer = cnode_map_get(request, "answer");
        if (answer != NULL && answer->type == MSGPACK_OBJECT_STR && answer->via.str.size == 5
            && memcmp(answer->via.str.ptr, "count", 5) == 0)
            return msgpack_pack_uint64(reply, data->via.bin.size / 8);
        return cnode_pack_bin(node, reply, bytes, data->via.bin.size);
    }
    if (OP("add")) {
        const msgpack_object *a = cnode_map_get(request, "a"), *b = cnode_map_get(request, "b");
        if (!is_number(a)) return cnode_fail(node, "add: a must be a number");
        if (!is_number(b)) return cnode_fail(node, "add: b must be a number");
        struct total t = {0};
        total_add(&t, a);
        total_add(&t, b);
        return total_pack(node, &t, reply);
    }
    if (OP("sum")) {
        const msgpack_object *values = cnode_map_get(request, "values");
        if (values == NULL || values->type != MSGPACK_OBJECT_ARRAY)
            return cnode_fail(node, "sum: values must be an array of numbers");
        struct total t = {0};
        for (uint32_t i = 0; i < values->via.array.size; i++) {
            if (!is_number(&values->via.array.ptr[i]))
                return cnode_fail(node, "sum: values[%u] is not a number", i);
            total_add(&t, &values->via.array.ptr[i]);
        }
        return total_pack(node, &t, reply);
    }
    if (OP("fail")) {
        const msgpack_object *reason = cnode_map_get(request, "reason");
        if (reason == NULL || reason->type != MSGPACK_OBJECT_STR)
            return cnode_fail(node, "fail: reason must be a string");
        return cnode_fail(node, "%.*s", (int)reason->via.str.size, reason->via.str.ptr);
    }
    if (OP("notify")) {
        /* cnode_send takes packed bytes: pack the value on its own first. */
        msgpack_sbuffer buf;
        msgpack_packer pk;
        msgpack_sbuffer_init(&buf);
        msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
        int rc = value ? msgpack_pack_object(&pk, *value) : msgpack_pack_nil(&pk);
        if (rc == 0) rc = cnode_send(node, buf.data, buf.size);
        msgpack_sbuffer_destroy(&buf);
        if (rc != 0) return cnode_fail(node, "notify: %s", cnode_strerror(errno));
        return msgpack_pack_true(reply);
    }
    if (OP("set")) {
        /* `request` dies when this handler returns: keep a deep copy, made by packing the value
           and unpacking those bytes again. */
        msgpack_unpacked_destroy(&store->value);
        msgpack_sbuffer_clear(&store->bytes);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &store->bytes, msgpack_sbuffer_write);
        size_t off = 0;
        store->has_value = 0;
        if ((value ? msgpack_pack_object(&pk, *value) : msgpack_pack_nil(&pk)) != 0
            || msgpack_unpack_next(&store->value, store->bytes.data, store->bytes.size, &off)
                   != MSGPACK_UNPACK_SUCCESS)
            return cnode_fail(node, "set: out of memory");
        store->has_value = 1;
        return msgpack_pack_true(reply);
    }
    if (OP("get")) {
        /* The store's own bytes: cnode_pack_object copies its big binaries into side parts. */
        return store->has_value ? cnode_pack_object(node, reply, &store->value.data)
                                : msgpack_pack_nil(reply);
    }
    if (OP("info")) {
        const char *strings[][2] = {
            {"name", cnode_name(node)}, {"alive", cnode_alive(node)}, {"host", cnode_host(node)}};
        msgpack_pack_map(reply, 5);
        for (int i = 0; i < 3; i++) {
            msgpack_pack_str_with_body(reply, strings[i][0], strlen(strings[i][0]));
            msgpack_pack_str_with_body(reply, strings[i][1], strlen(strings[i][1]));
        }
        msgpack_pack_str_with_body(reply, "creation", 8);
        msgpack_pack_unsigned_int(reply, cnode_creation(node));
        msgpack_pack_str_with_body(reply, "args", 4);
        msgpack_pack_array(reply, (size_t)cnode_argc(node));
        for (int i = 0; i < cnode_argc(node); i++)
            msgpack_pack_str_with_body(reply, cnode_argv(node)[i], strlen(cnode_argv(node)[i]));
        return 0;
    }
    if (OP("sleep")) {
        const msgpack_object *ms = cnode_map_get(request, "ms");
        if (ms == NULL || ms->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return cnode_fail(node, "sleep: ms must be a non-negative integer");
        sleep_ms(ms->via.u64);
        return msgpack_pack_uint64(reply, ms->via.u64);
    }
    if (OP("stop")) {
        cnode_stop(node); /* cnode_run returns once this answer is sent */
        return msgpack_pack_true(reply);
    }
    if (OP("exit")) {
        const msgpack_object *code = cnode_map_get(request, "code");
        if (!is_int(code)) return cnode_fail(node, "exit: code must be an integer");
        exit((int)code->via.i64);
    }
    if (OP("crash")) {
        crash();
        return 0;
    }
    return cnode_fail(node, "unknown op \"%.*s\"", (int)op->via.str.size, op->via.str.ptr);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv); /* prints "ready <endpoint>" */
    if (node == NULL) return 1;             /* the reason is on stderr */
    struct store store = {0};
    msgpack_sbuffer_init(&store.bytes);
    msgpack_unpacked_init(&store.value);
    int status = cnode_run(node, handle, &store);
    msgpack_unpacked_destroy(&store.value);
    msgpack_sbuffer_destroy(&store.bytes);
    cnode_destroy(node);
    return status;
}
