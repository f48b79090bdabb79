/*
 * ticker.c: a sidecar that reports by itself. A timer of the worker's own loop sends the owner
 * {tick: n, creation: c} every interval, between the calls it answers; nothing in it loops or
 * sleeps, so a stop, or the owner's going, ends it at once. docs/guide-sidecar.md runs it under
 * a Supervisor.
 *
 * User argument: the interval in milliseconds, 1 to 3600000 (default 1000).
 * Calls:
 *   "ping"                -> "pong" (the supervisor's health check)
 *   {op: "interval", ms}  -> ticks every ms from now on; answers the previous interval
 *   {op: "status"}        -> {ticks, interval, creation}
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cnode.h>

#define MAX_INTERVAL_MS 3600000u

struct ticker {
    int timer;         /* the id cnode_add_timer gave */
    unsigned interval; /* in milliseconds */
    uint64_t ticks;    /* sent so far by this incarnation */
};

/* The timer's callback: one message to the owner. 0 goes on; -1 would end the worker (status 1). */
static int tick(cnode_t *node, void *user)
{
    struct ticker *t = user;
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "tick", 4);
    msgpack_pack_uint64(&pk, ++t->ticks);
    msgpack_pack_str_with_body(&pk, "creation", 8);
    msgpack_pack_unsigned_int(&pk, cnode_creation(node));
    int rc = cnode_send(node, buf.data, buf.size);
    int err = errno;
    msgpack_sbuffer_destroy(&buf);
    /* The owner not there (yet, or any more) is no reason to die: the loop ends by itself once
       it has gone. Anything else (ENOMEM, EIO) is, and the owner sees exit code 1. */
    if (rc < 0 && err != ENOTCONN && err != EHOSTUNREACH) {
        fprintf(stderr, "ticker: cnode_send: %s\n", cnode_strerror(err));
        return -1;
    }
    return 0;
}

/* Ticks every `ms` from now on: a timer keeps its period, so a new interval is a new timer. */
static int set_interval(cnode_t *node, struct ticker *t, unsigned ms)
{
    int timer = cnode_add_timer(node, ms, tick, t);
    if (timer < 0) return -1;
    if (t->timer > 0) cnode_cancel_timer(node, t->timer);
    t->timer = timer;
    t->interval = ms;
    return 0;
}

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user)
{
    struct ticker *t = user;
    if (reply == NULL) return 0; /* casts: nothing to do */
    if (request->type == MSGPACK_OBJECT_STR && request->via.str.size == 4
        && memcmp(request->via.str.ptr, "ping", 4) == 0)
        return msgpack_pack_str_with_body(reply, "pong", 4);
    const msgpack_object *op = cnode_map_get(request, "op");
    if (op == NULL || op->type != MSGPACK_OBJECT_STR)
        return cnode_fail(node, "expected \"ping\" or a map with an \"op\"");
    if (op->via.str.size == 8 && memcmp(op->via.str.ptr, "interval", 8) == 0) {
        const msgpack_object *ms = cnode_map_get(request, "ms");
        if (ms == NULL || ms->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ms->via.u64 == 0
            || ms->via.u64 > MAX_INTERVAL_MS)
            return cnode_fail(node, "expected ms from 1 to %u", MAX_INTERVAL_MS);
        unsigned previous = t->interval;
        if (set_interval(node, t, (unsigned)ms->via.u64) < 0)
            return cnode_fail(node, "cnode_add_timer: %s", cnode_strerror(errno));
        return msgpack_pack_unsigned_int(reply, previous);
    }
    if (op->via.str.size == 6 && memcmp(op->via.str.ptr, "status", 6) == 0) {
        msgpack_pack_map(reply, 3);
        msgpack_pack_str_with_body(reply, "ticks", 5);
        msgpack_pack_uint64(reply, t->ticks);
        msgpack_pack_str_with_body(reply, "interval", 8);
        msgpack_pack_unsigned_int(reply, t->interval);
        msgpack_pack_str_with_body(reply, "creation", 8);
        return msgpack_pack_unsigned_int(reply, cnode_creation(node));
    }
    return cnode_fail(node, "unknown op \"%.*s\"", (int)op->via.str.size, op->via.str.ptr);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv); /* binds, prints "ready <endpoint>" */
    if (node == NULL) return 1;
    struct ticker t = {0};
    unsigned long ms = cnode_argc(node) > 0 ? strtoul(cnode_argv(node)[0], NULL, 10) : 1000;
    if (ms == 0 || ms > MAX_INTERVAL_MS) {
        fprintf(stderr, "ticker: the interval must be 1 to %u ms, got \"%s\"\n", MAX_INTERVAL_MS,
                cnode_argv(node)[0]);
        cnode_destroy(node);
        return 2;
    }
    /* Added before cnode_run, which runs it: the first tick is due one interval from now (one
       due before the owner has connected is skipped, ENOTCONN). */
    if (set_interval(node, &t, (unsigned)ms) < 0) {
        fprintf(stderr, "ticker: cnode_add_timer: %s\n", cnode_strerror(errno));
        cnode_destroy(node);
        return 1;
    }
    int status = cnode_run(node, handle, &t);
    cnode_destroy(node);
    return status;
}
