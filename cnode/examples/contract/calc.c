/*
 * calc.c: the README's quick start, the worker of calc.contract.js.
 *
 *     npx cnode cc --contract calc.contract.js calc.c -O2 -o calc
 *
 * (--contract runs `npx cnode gen calc.contract.js --dir .` first, which writes calc_contract.h.)
 */
#include "calc_contract.h"

/* Each handler gets its request decoded and checked: a = "two" never reaches this code. */
static int add(cnode_t *node, const struct calc_add_request *request, msgpack_packer *reply, void *user)
{
    (void)user;
    int64_t a = request->a, b = request->b;
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) /* an untyped call may send any int64 */
        return cnode_fail_code(node, "E_OVERFLOW", "add: %lld + %lld is beyond 64 bits", (long long)a, (long long)b);
    struct calc_add_response response = {.value = a + b};
    return calc_reply_add(node, reply, &response);
}

static int mean(cnode_t *node, const struct calc_mean_request *request, msgpack_packer *reply, void *user)
{
    (void)user;
    if (request->values.count == 0) return cnode_fail(node, "mean: no values");
    double total = 0;
    for (size_t i = 0; i < request->values.count; i++) total += request->values.items[i];
    struct calc_mean_response response = {.mean = total / (double)request->values.count,
                                          .count = (int64_t)request->values.count};
    return calc_reply_mean(node, reply, &response);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    struct calc_handlers handlers = {.add = add, .mean = mean};
    int status = cnode_run(node, calc_handle, &handlers);
    cnode_destroy(node);
    return status;
}
