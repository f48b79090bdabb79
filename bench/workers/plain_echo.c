/*
 * plain_echo.c: a cnode worker as a user would first write it, for the bench's
 * `bridge (plain msgpack)` contender: every call is answered with its request, packed with
 * plain msgpack-c's msgpack_pack_object, not cnode_pack_object. build/bin/echo uses the
 * latter, which sends a request's big binaries back without copying them; this worker shows
 * what a handler that knows nothing of cnode's packing costs (the library still turns a big
 * binary packed this way into a side part, cnode.h's cnode_pack_bin).
 *
 *   usage: as any worker; started by CNode.start({ executable: 'build/bin/plain_echo' })
 */
#include <cnode.h>

static int s_handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user)
{
    (void)node;
    (void)user;
    if (reply == NULL) return 0; /* a cast: nothing to answer */
    return msgpack_pack_object(reply, *request);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1; /* the reason is on stderr */
    int status = cnode_run(node, s_handle, NULL);
    cnode_destroy(node);
    return status;
}
