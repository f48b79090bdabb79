/*
 * zmq_echo.c: the transport floor for the bench. A plain libzmq program, no cnode library and no
 * MessagePack: a ROUTER bound to ipc://<dir>/socket that sends every message straight back to the
 * peer that sent it, moving the received zmq_msg_t parts into the reply (no copy).
 *
 *   usage: zmq_echo <socket-dir>      prints "ready ipc://<socket-dir>/socket", then serves
 *          zmq_echo tcp://<addr>:<port|*>  the same over tcp (the remote scenario, across a veth
 *                                     pair): prints "ready tcp://<addr>:<port>" (the bound port)
 *
 * Over tcp, with ZMQ_ECHO_CURVE_SECRET=<Z85 secret key> in its environment, the ROUTER is a
 * CurveZMQ server with that key (and no ZAP handler: any client key is let in; a bench's key
 * pair, fresh each run, never a secret worth keeping).
 *
 * It ends on EOF on stdin (the bench closes it in stop()) and, on Linux, when its parent dies.
 * Socket options as the cnode library sets them: linger 0, ROUTER_MANDATORY.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Moves one whole message (identity part, then the body parts) from the socket back to it.
   Returns 1 when a message was echoed, 0 when none was waiting, -1 on an error. */
static int s_echo_one(void *router)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    for (;;) {
        int more = zmq_msg_more(&part);
        if (zmq_msg_send(&part, router, more ? ZMQ_SNDMORE : 0) < 0) {
            zmq_msg_close(&part);
            return -1;
        }
        if (!more) return 1;
        zmq_msg_init(&part); /* the rest of a message is already there: a blocking receive */
        int rc;
        while ((rc = zmq_msg_recv(&part, router, 0)) < 0 && errno == EINTR) {}
        if (rc < 0) {
            zmq_msg_close(&part);
            return -1;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: zmq_echo <socket-dir> | tcp://<address>:<port>\n");
        return 2;
    }
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
    if (getppid() == 1) return 1;
#endif
    void *ctx = zmq_ctx_new();
    void *router = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    int zero = 0, one = 1;
    char endpoint[4200];
    int tcp = strncmp(argv[1], "tcp://", 6) == 0;
    if (tcp) snprintf(endpoint, sizeof endpoint, "%s", argv[1]);
    else snprintf(endpoint, sizeof endpoint, "ipc://%s/socket", argv[1]);
    const char *secret = tcp ? getenv("ZMQ_ECHO_CURVE_SECRET") : NULL;
    if (router == NULL || zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero) < 0
        || zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0
        || (secret != NULL
            && (zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) < 0
                || zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, secret, strlen(secret)) < 0))
        || zmq_bind(router, endpoint) < 0) {
        fprintf(stderr, "zmq_echo: cannot bind %s: %s\n", endpoint, zmq_strerror(errno));
        return 1;
    }
    size_t size = sizeof endpoint;
    if (tcp && zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size) < 0) {
        fprintf(stderr, "zmq_echo: ZMQ_LAST_ENDPOINT: %s\n", zmq_strerror(errno));
        return 1;
    }
    printf("ready %s\n", endpoint);
    fflush(stdout);

    zmq_pollitem_t items[] = {{router, 0, ZMQ_POLLIN, 0}, {NULL, STDIN_FILENO, ZMQ_POLLIN, 0}};
    int status = 0;
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == EINTR) continue;
            status = 1;
            break;
        }
        /* libzmq reports EOF on a plain fd as ZMQ_POLLERR: any event on stdin means read it. */
        if (items[1].revents) {
            char discard[256];
            ssize_t n = read(STDIN_FILENO, discard, sizeof discard);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            int rc;
            while ((rc = s_echo_one(router)) == 1) {}
            if (rc < 0) {
                fprintf(stderr, "zmq_echo: %s\n", zmq_strerror(errno));
                status = 1;
                break;
            }
        }
    }
    zmq_close(router);
    zmq_ctx_term(ctx);
    return status;
}
