/*
 * curve.h: CurveZMQ for the ZeroMQ transport over tcp (curve.c), and the ZAP verdict, which does
 * no I/O so that the fuzzer (test/fuzz/frame_fuzz.c) can call it too.
 */
#ifndef CNODE_CURVE_H
#define CNODE_CURVE_H

#include <stddef.h>

struct cnode_transport;

/* Before the router binds, when the owner gave keys (args.curve): makes the router a CURVE
   server and binds the ZAP handler. Prints its reason on failure. */
int cnode_curve_open(struct cnode_transport *t);
/* Answers the waiting ZAP requests, until none waits; -1 on failure. */
int cnode_curve_answer(struct cnode_transport *t);
void cnode_curve_close(struct cnode_transport *t);

/* One part of a ZAP request, as received. */
struct cnode_zap_part {
    const void *data;
    size_t size;
};
/* The verdict on a ZAP request of `count` parts: 1 when it is a well-formed CURVE request
   presenting exactly one of the `nclients` keys of `clients` (32 bytes each), 0 otherwise. */
int cnode_zap_allows(const struct cnode_zap_part *parts, size_t count,
                     const unsigned char (*clients)[32], size_t nclients);

#endif /* CNODE_CURVE_H */
