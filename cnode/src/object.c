/*
 * object.c: helpers for reading the msgpack_object a handler receives, and for packing one.
 */
#include <string.h>

#include <cnode.h>

const msgpack_object *cnode_map_get(const msgpack_object *map, const char *key)
{
    if (map == NULL || key == NULL || map->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t len = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        /* msgpack-c gives an empty string a NULL ptr, which memcmp must not see even for 0
           bytes. */
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len
            && (len == 0 || memcmp(k->via.str.ptr, key, len) == 0))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

int cnode_pack_object(cnode_t *node, msgpack_packer *pk, const msgpack_object *o)
{
    /* msgpack-c nests at most 32 levels, which bounds the recursion. */
    switch (o->type) {
    case MSGPACK_OBJECT_BIN:
        return cnode_pack_bin(node, pk, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        if (msgpack_pack_array(pk, o->via.array.size) < 0) return -1;
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (cnode_pack_object(node, pk, &o->via.array.ptr[i]) < 0) return -1;
        return 0;
    case MSGPACK_OBJECT_MAP:
        if (msgpack_pack_map(pk, o->via.map.size) < 0) return -1;
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (cnode_pack_object(node, pk, &o->via.map.ptr[i].key) < 0
                || cnode_pack_object(node, pk, &o->via.map.ptr[i].val) < 0)
                return -1;
        return 0;
    default:
        return msgpack_pack_object(pk, *o);
    }
}
