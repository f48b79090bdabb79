/*
 * kitchen.c: the worker of test/fixtures/kitchen.contract.js, the test of every type of the
 * contract vocabulary. Build it as a user does:
 *
 *     npx cnode gen test/fixtures/kitchen.contract.js -o kitchen_contract.h
 *     npx cnode cc cnode/examples/contract/kitchen.c -I. -Wall -Wextra -Werror -o kitchen
 */
#include <stdlib.h>

#include "kitchen_contract.h"

static int add(cnode_t *node, const struct kitchen_add_request *request, msgpack_packer *reply, void *user)
{
    (void)user;
    int64_t a = request->a, b = request->b;
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return cnode_fail_code(node, "E_OVERFLOW", "add: the sum is beyond 64 bits");
    struct kitchen_add_response response = {a + b};
    return kitchen_reply_add(node, reply, &response);
}

/* The request back as it came: the response is the request's own struct (the same t.struct). */
static int echo(cnode_t *node, const struct kitchen_echo_request *request, msgpack_packer *reply, void *user)
{
    (void)user;
    struct kitchen_echo_response response = {*request};
    return kitchen_reply_echo(node, reply, &response);
}

static int sum(cnode_t *node, const struct kitchen_sum_request *request, msgpack_packer *reply, void *user)
{
    (void)user;
    double total = 0;
    for (size_t i = 0; i < request->values.count; i++) total += request->values.items[i];
    struct kitchen_sum_response response = {total * (request->has_scale ? request->scale : 1)};
    return kitchen_reply_sum(node, reply, &response);
}

/* The square's corners, each labelled: an array of structs built in C. */
static int corners(cnode_t *node, const struct kitchen_corners_request *request, msgpack_packer *reply, void *user)
{
    (void)user;
    static const char *labels[] = {"a", "b", "c", "d"};
    struct kitchen_point points[4];
    for (int i = 0; i < 4; i++) {
        points[i] = request->at;
        points[i].x += (i == 1 || i == 2) ? request->size : 0;
        points[i].y += (i >= 2) ? request->size : 0;
        points[i].has_label = true;
        points[i].label = (struct cnode_contract_str){labels[i], 1};
    }
    struct kitchen_corners_response response = {{points, 4}};
    return kitchen_reply_corners(node, reply, &response);
}

static int greet(cnode_t *node, const struct kitchen_greet_request *request, msgpack_packer *reply, void *user)
{
    const char *greeting = user;
    char text[256];
    int n = request->has_name
                ? snprintf(text, sizeof text, "%s, %.*s", greeting, (int)request->name.len, request->name.ptr)
                : snprintf(text, sizeof text, "%s, stranger", greeting);
    struct kitchen_greet_response response = {{text, n < (int)sizeof text ? (size_t)n : sizeof text - 1}};
    return kitchen_reply_greet(node, reply, &response);
}

/* Outside the contract on purpose: a string where the contract says int64. */
static int liar(cnode_t *node, const struct kitchen_liar_request *request, msgpack_packer *reply, void *user)
{
    (void)node, (void)request, (void)user;
    return reply ? msgpack_pack_str_with_body(reply, "forty-two", 9) : 0;
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    struct kitchen_handlers handlers = {
        .add = add, .echo = echo, .sum = sum, .corners = corners, .greet = greet, .liar = liar,
        .unhandled = NULL, /* on purpose: its calls fail */
        .user = "hello",
    };
    int status = cnode_run(node, kitchen_handle, &handlers);
    cnode_destroy(node);
    return status;
}
