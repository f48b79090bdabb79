/*
 * object.c: helpers for reading the msgpack_object a handler receives.
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
