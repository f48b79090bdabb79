/*
 * getters.c: the typed getters a handler reads a map request with, the NUL-terminated copy of a
 * string, and the array whose count is written at its end (cnode.h, "msgpack-c helpers").
 */
#include <errno.h>
#include <string.h>

#include "node.h"

/* The value under `key`, or NULL when absent or nil (errno untouched), or when `map` is not a
   map (errno EINVAL unless map is NULL). */
static const msgpack_object *s_value(const msgpack_object *map, const char *key)
{
    if (map != NULL && map->type != MSGPACK_OBJECT_MAP) {
        errno = EINVAL;
        return NULL;
    }
    const msgpack_object *v = cnode_map_get(map, key);
    return v == NULL || v->type == MSGPACK_OBJECT_NIL ? NULL : v;
}

int64_t cnode_get_i64(const msgpack_object *map, const char *key, int64_t fallback)
{
    const msgpack_object *v = s_value(map, key);
    if (v == NULL) return fallback;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return v->via.i64;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (v->via.u64 <= (uint64_t)INT64_MAX) return (int64_t)v->via.u64;
        errno = ERANGE;
        return fallback;
    }
    errno = EINVAL;
    return fallback;
}

double cnode_get_f64(const msgpack_object *map, const char *key, double fallback)
{
    const msgpack_object *v = s_value(map, key);
    if (v == NULL) return fallback;
    switch (v->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return v->via.f64;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)v->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)v->via.i64;
    default: errno = EINVAL; return fallback;
    }
}

/* msgpack-c gives an empty string or binary a NULL pointer: the getters give this instead, so
   that NULL always means "none". */
static const char s_empty[1] = "";

const char *cnode_get_str(const msgpack_object *map, const char *key, size_t *len)
{
    if (len != NULL) *len = 0;
    const msgpack_object *v = s_value(map, key);
    if (v == NULL) return NULL;
    if (v->type != MSGPACK_OBJECT_STR) {
        errno = EINVAL;
        return NULL;
    }
    if (len != NULL) *len = v->via.str.size;
    return v->via.str.size == 0 ? s_empty : v->via.str.ptr;
}

const void *cnode_get_bin(const msgpack_object *map, const char *key, size_t *len)
{
    if (len != NULL) *len = 0;
    const msgpack_object *v = s_value(map, key);
    if (v == NULL) return NULL;
    if (v->type != MSGPACK_OBJECT_BIN) {
        errno = EINVAL;
        return NULL;
    }
    if (len != NULL) *len = v->via.bin.size;
    return v->via.bin.size == 0 ? s_empty : v->via.bin.ptr;
}

const char *cnode_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_BIN: return "a binary";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    default: return "an ext value";
    }
}

int cnode_copy_str(const msgpack_object *str, char *buf, size_t size)
{
    if (buf != NULL && size > 0) buf[0] = '\0';
    if (str == NULL || str->type != MSGPACK_OBJECT_STR || buf == NULL || size == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t n = str->via.str.size;
    if (n >= size) {
        errno = ERANGE;
        return -1;
    }
    if (n > 0 && memchr(str->via.str.ptr, '\0', n) != NULL) {
        errno = EILSEQ;
        return -1;
    }
    if (n > 0) memcpy(buf, str->via.str.ptr, n);
    buf[n] = '\0';
    return 0;
}

/* An array32 header with a count of 0: end writes the count into its last four bytes. */
static const unsigned char s_array32[5] = {0xdd, 0, 0, 0, 0};

int cnode_array_begin(msgpack_packer *pk, msgpack_sbuffer *buf, cnode_array *array)
{
    if (pk == NULL || array == NULL) {
        errno = EINVAL;
        return -1;
    }
    msgpack_sbuffer *reply = cnode_reply_buffer(pk);
    if (buf == NULL) buf = reply;
    if (buf == NULL || (reply != NULL && buf != reply)) {
        errno = EINVAL;
        return -1;
    }
    size_t at = buf->size;
    /* Through the packer, as every other byte of the reply goes; then checked: a packer that
       does not write into `buf` is refused rather than patched blindly. */
    if (pk->callback(pk->data, (const char *)s_array32, sizeof s_array32) < 0) {
        errno = ENOMEM;
        return -1;
    }
    if (buf->size != at + sizeof s_array32
        || memcmp(buf->data + at, s_array32, sizeof s_array32) != 0) {
        errno = EINVAL;
        return -1;
    }
    *array = (cnode_array){buf, at, 0};
    return 0;
}

int cnode_array_end(cnode_array *array)
{
    if (array == NULL || array->buf == NULL || array->buf->size < array->at + sizeof s_array32
        || (unsigned char)array->buf->data[array->at] != 0xdd) {
        errno = EINVAL;
        return -1;
    }
    const char *p = array->buf->data + array->at + sizeof s_array32;
    size_t left = array->buf->size - array->at - sizeof s_array32;
    uint32_t count = 0;
    while (left > 0) {
        struct cnode_walk w;
        if (cnode_msgpack_next(p, left, &w) < 0 || count == UINT32_MAX) {
            errno = EINVAL;
            return -1;
        }
        p += w.len;
        left -= w.len;
        count++;
    }
    unsigned char *h = (unsigned char *)array->buf->data + array->at;
    h[1] = (unsigned char)(count >> 24);
    h[2] = (unsigned char)(count >> 16);
    h[3] = (unsigned char)(count >> 8);
    h[4] = (unsigned char)count;
    array->count = count;
    return 0;
}
