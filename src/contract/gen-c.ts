import type { Contract } from './define.js';
import type { Fields, Type } from './types.js';
import { typeName } from './types.js';

/*
 * The C side of a contract: one header, all `static inline` (nothing to link, no unused-function
 * warnings), written in dependency order. Each struct and array type of the contract gets a C
 * struct, a decoder (checks every value's type, reports the first wrong one by its path) and a
 * packer; each operation a request struct, a response struct, a handler slot and a dispatch case.
 * The part every contract shares (string and binary views, the arena, the path) sits behind
 * CNODE_CONTRACT_RUNTIME, so two contracts' headers can meet in one file.
 */

const RUNTIME = String.raw`#ifndef CNODE_CONTRACT_RUNTIME
#define CNODE_CONTRACT_RUNTIME
/* A string of a request or a response: a pointer and a length, not NUL-terminated. In a request
   it points into the request: valid until the handler returns. */
struct cnode_contract_str {
    const char *ptr; /* the UTF-8 bytes */
    size_t len;      /* how many */
};

/* A binary: a pointer and a length. In a request, valid until the handler returns. */
struct cnode_contract_bytes {
    const void *ptr; /* the bytes */
    size_t len;      /* how many */
};

/* The most bytes a request's decoded arrays may take: a request needing more is refused as a bad
   message, so that a small hostile request of many items cannot make the worker allocate without
   bound. Define it before including the header to change it. */
#ifndef CNODE_CONTRACT_ARENA_MAX
#define CNODE_CONTRACT_ARENA_MAX ((size_t)256 << 20)
#endif

/* Where the decoded arrays live: the dispatch frees it after the handler returns. */
struct cnode_contract_arena {
    void *blocks; /* the blocks allocated, a list; NULL when none */
    size_t used;  /* the bytes of items allocated, against CNODE_CONTRACT_ARENA_MAX */
};

/* The place of a value in the request, for a message: a list from the value up to the root. */
struct cnode_contract_path {
    const struct cnode_contract_path *up; /* the enclosing value; NULL at a top-level field */
    const char *key;                      /* the field's name, or NULL for an array's item */
    size_t index;                         /* the item's index, when key is NULL */
};

/* Zeroed memory for \`count\` items of \`size\` bytes, owned by \`arena\`, aligned for any type
   (C99 has no max_align_t); NULL with errno E2BIG past CNODE_CONTRACT_ARENA_MAX, ENOMEM when out
   of memory. */
static inline void *cnode_contract_alloc(struct cnode_contract_arena *arena, size_t count, size_t size)
{
    union block { union block *next; long double ld; long long ll; void *p; void (*fn)(void); };
    if (count > (CNODE_CONTRACT_ARENA_MAX - arena->used) / size) {
        errno = E2BIG;
        return NULL;
    }
    union block *block = (union block *)calloc(1, sizeof(union block) + count * size);
    if (block == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    arena->used += count * size;
    block->next = (union block *)arena->blocks;
    arena->blocks = block;
    return block + 1;
}

/* Frees what the arena holds; it can be used again. */
static inline void cnode_contract_arena_free(struct cnode_contract_arena *arena)
{
    void *block = arena->blocks;
    while (block != NULL) {
        void *next = *(void **)block;
        free(block);
        block = next;
    }
    arena->blocks = NULL;
    arena->used = 0;
}

/* Writes "points[2].x" into buf (cut at len); returns the length it would have. */
static inline size_t cnode_contract_path_write(const struct cnode_contract_path *p, char *buf, size_t len)
{
    if (p == NULL) return 0;
    size_t n = cnode_contract_path_write(p->up, buf, len);
    char *at = n < len ? buf + n : NULL;
    size_t room = n < len ? len - n : 0;
    int w = p->key != NULL ? snprintf(at, room, "%s%s", p->up != NULL ? "." : "", p->key)
                           : snprintf(at, room, "[%zu]", p->index);
    return n + (w > 0 ? (size_t)w : 0);
}

/* Writes "bad message: <path> <problem>[, got <kind>]" into err; returns -1. */
static inline int cnode_contract_mismatch(char *err, size_t errlen, const struct cnode_contract_path *p,
                                          const char *problem, const msgpack_object *got)
{
    char where[256] = "the request";
    if (p != NULL) cnode_contract_path_write(p, where, sizeof where);
    snprintf(err, errlen, "bad message: %s %s%s%s", where, problem, got != NULL ? ", got " : "",
             got != NULL ? cnode_type_name(got) : "");
    return -1;
}

static inline int cnode_contract_decode_i64(const msgpack_object *o, int64_t *out, struct cnode_contract_arena *arena,
                                            const struct cnode_contract_path *p, char *err, size_t errlen)
{
    (void)arena;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return *out = o->via.i64, 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return cnode_contract_mismatch(err, errlen, p, "must be an int64", o);
    if (o->via.u64 > (uint64_t)INT64_MAX)
        return cnode_contract_mismatch(err, errlen, p, "must be an int64, got an integer beyond 2^63-1", NULL);
    return *out = (int64_t)o->via.u64, 0;
}

static inline int cnode_contract_decode_f64(const msgpack_object *o, double *out, struct cnode_contract_arena *arena,
                                            const struct cnode_contract_path *p, char *err, size_t errlen)
{
    (void)arena;
    switch (o->type) { /* JavaScript's 2.0 is packed as the integer 2: an integer is a float64 too */
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return *out = (double)o->via.u64, 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return *out = (double)o->via.i64, 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return *out = o->via.f64, 0;
    default: return cnode_contract_mismatch(err, errlen, p, "must be a float64", o);
    }
}

static inline int cnode_contract_decode_bool(const msgpack_object *o, bool *out, struct cnode_contract_arena *arena,
                                             const struct cnode_contract_path *p, char *err, size_t errlen)
{
    (void)arena;
    if (o->type != MSGPACK_OBJECT_BOOLEAN) return cnode_contract_mismatch(err, errlen, p, "must be a boolean", o);
    return *out = o->via.boolean, 0;
}

static inline int cnode_contract_decode_str(const msgpack_object *o, struct cnode_contract_str *out,
                                            struct cnode_contract_arena *arena, const struct cnode_contract_path *p,
                                            char *err, size_t errlen)
{
    (void)arena;
    if (o->type != MSGPACK_OBJECT_STR) return cnode_contract_mismatch(err, errlen, p, "must be a string", o);
    out->ptr = o->via.str.size > 0 ? o->via.str.ptr : ""; /* msgpack-c may give NULL for an empty one */
    out->len = o->via.str.size;
    return 0;
}

static inline int cnode_contract_decode_bytes(const msgpack_object *o, struct cnode_contract_bytes *out,
                                              struct cnode_contract_arena *arena, const struct cnode_contract_path *p,
                                              char *err, size_t errlen)
{
    (void)arena;
    if (o->type != MSGPACK_OBJECT_BIN) return cnode_contract_mismatch(err, errlen, p, "must be a binary", o);
    out->ptr = o->via.bin.size > 0 ? o->via.bin.ptr : ""; /* msgpack-c may give NULL for an empty one */
    out->len = o->via.bin.size;
    return 0;
}

static inline int cnode_contract_pack_i64(cnode_t *node, msgpack_packer *pk, const int64_t *v)
{
    (void)node;
    return msgpack_pack_int64(pk, *v);
}

static inline int cnode_contract_pack_f64(cnode_t *node, msgpack_packer *pk, const double *v)
{
    (void)node;
    return msgpack_pack_double(pk, *v);
}

static inline int cnode_contract_pack_bool(cnode_t *node, msgpack_packer *pk, const bool *v)
{
    (void)node;
    return *v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

static inline int cnode_contract_pack_str(cnode_t *node, msgpack_packer *pk, const struct cnode_contract_str *v)
{
    (void)node;
    return msgpack_pack_str_with_body(pk, v->len > 0 ? v->ptr : "", v->len); /* a zeroed response's is NULL */
}

/* Through cnode_pack_bin: a big binary travels beside the frame. */
static inline int cnode_contract_pack_bytes(cnode_t *node, msgpack_packer *pk, const struct cnode_contract_bytes *v)
{
    return cnode_pack_bin(node, pk, v->len > 0 ? v->ptr : "", v->len); /* a zeroed response's is NULL */
}

/* The worker refuses a request outside its contract: the owner's call rejects with
   ERR_CNODE_REMOTE whose remoteCode is ERR_CNODE_BAD_MESSAGE (the typed client's own code for it),
   its reason "bad message: <path> ...". */
#define CNODE_CONTRACT_REFUSE(node, ...) cnode_fail_code((node), "ERR_CNODE_BAD_MESSAGE", __VA_ARGS__)
#endif /* CNODE_CONTRACT_RUNTIME */
`;

const SCALAR_C: Record<string, string> = {
  i64: 'int64_t',
  f64: 'double',
  bool: 'bool',
  string: 'struct cnode_contract_str',
  bytes: 'struct cnode_contract_bytes',
};
const SCALAR_LOCAL: Record<string, string> = { i64: 'i64', f64: 'f64', bool: 'bool', string: 'str', bytes: 'bytes' };

/** A C type the header defines: a struct of the contract, or an array of some type. */
interface Definition {
  /** The name after the prefix: `add_request`, `array_i64`. */
  local: string;
  code: string;
}

/** A short description of a type for comments: `{a: int64, b?: string}`. */
function describe(type: Type): string {
  switch (type.kind) {
    case 'array':
      return `${describe(type.of)}[]`;
    case 'struct':
      return describeFields(type.fields);
    case 'string':
      return 'string';
    default:
      return typeName(type).replace(/^an? /, '');
  }
}

function describeFields(fields: Fields): string {
  const parts = Object.entries(fields).map(([name, field]) =>
    field.kind === 'optional' ? `${name}?: ${describe(field.of)}` : `${name}: ${describe(field)}`,
  );
  return `{${parts.join(', ')}}`;
}

class Writer {
  readonly definitions: Definition[] = [];
  readonly #done = new Set<string>();
  /** The struct types met so far, by identity: one C struct each, wherever they are used. */
  readonly #structs = new Map<Fields, string>();

  constructor(readonly prefix: string) {}

  /** Takes the C name `<prefix>_<local>` for one struct; a second claim is a clash the C compiler would report less clearly. */
  claim(local: string): void {
    if (this.#done.has(local))
      throw new Error(`cnode gen: two different structs would both be named ${this.prefix}_${local}`);
    this.#done.add(local);
  }

  has(fields: Fields): boolean {
    return this.#structs.has(fields);
  }

  /** The C type of `type` (defining it first when it is a struct or an array); `local` names a struct. */
  cType(type: Type, local: string): string {
    if (type.kind === 'array') return `struct ${this.prefix}_${this.array(type.of, `${local}_item`)}`;
    if (type.kind === 'struct') return `struct ${this.prefix}_${this.struct(type.fields, type.name ?? local)}`;
    return SCALAR_C[type.kind];
  }

  /** The functions' name part of `type`: `i64` for the runtime's, `add_request` for the contract's. */
  #functions(type: Type, local: string): { decode: string; pack: string } {
    if (type.kind === 'array' || type.kind === 'struct') {
      const name =
        type.kind === 'array' ? this.array(type.of, `${local}_item`) : this.struct(type.fields, type.name ?? local);
      return { decode: `${this.prefix}_decode_${name}_at`, pack: `${this.prefix}_pack_${name}` };
    }
    const name = SCALAR_LOCAL[type.kind];
    return { decode: `cnode_contract_decode_${name}`, pack: `cnode_contract_pack_${name}` };
  }

  /** Defines the array of `of` once per item type; returns its local name, `array_i64`. */
  array(of: Type, local: string): string {
    const composite = of.kind === 'array' || of.kind === 'struct';
    const item = composite ? this.cType(of, local) : SCALAR_C[of.kind];
    const name = `array_${composite ? item.slice(`struct ${this.prefix}_`.length) : SCALAR_LOCAL[of.kind]}`;
    if (this.#done.has(name)) return name;
    this.#done.add(name);
    const fn = this.#functions(of, local);
    const p = this.prefix;
    this.definitions.push({
      local: name,
      code: `/* An array of ${describe(of)}: in a request, decoded into the arena (valid until the handler returns). */
struct ${p}_${name} {
    const ${item} *items; /* the items */
    size_t count;         /* how many */
};

static inline int ${p}_decode_${name}_at(const msgpack_object *o, struct ${p}_${name} *out,
        struct cnode_contract_arena *arena, const struct cnode_contract_path *p, char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) return cnode_contract_mismatch(err, errlen, p, "must be an array", o);
    size_t n = o->via.array.size;
    ${item} *items = NULL;
    if (n > 0 && (items = (${item} *)cnode_contract_alloc(arena, n, sizeof *items)) == NULL) {
        if (errno == E2BIG)
            return cnode_contract_mismatch(err, errlen, p, "has too many items to decode (CNODE_CONTRACT_ARENA_MAX)", NULL);
        snprintf(err, errlen, "out of memory decoding an array of %zu items", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct cnode_contract_path at = {p, NULL, i};
        if (${fn.decode}(&o->via.array.ptr[i], &items[i], arena, &at, err, errlen) != 0) return -1;
    }
    out->items = items;
    out->count = n;
    return 0;
}

static inline int ${p}_pack_${name}(cnode_t *node, msgpack_packer *pk, const struct ${p}_${name} *v)
{
    if (msgpack_pack_array(pk, v->count) != 0) return -1;
    for (size_t i = 0; i < v->count; i++)
        if (${fn.pack}(node, pk, &v->items[i]) != 0) return -1;
    return 0;
}
`,
    });
    return name;
  }

  /** Defines a struct of these fields, named by its place (`add_request_point`); returns its local name. */
  struct(fields: Fields, wanted: string): string {
    const known = this.#structs.get(fields);
    if (known !== undefined) return known;
    const local = wanted;
    this.claim(local);
    this.#structs.set(fields, local);
    const p = this.prefix;
    const members: string[] = [];
    const decodes: string[] = [];
    const packs: string[] = [];
    let required = 0;
    const optionals: string[] = [];
    for (const [name, field] of Object.entries(fields)) {
      const optional = field.kind === 'optional';
      const type = field.kind === 'optional' ? field.of : field;
      const c = this.cType(type, `${local}_${name}`);
      const fn = this.#functions(type, `${local}_${name}`);
      if (optional) {
        members.push(`    bool has_${name}; /* whether ${name} is there */`);
        optionals.push(name);
      } else {
        required++;
      }
      members.push(`    ${c} ${name}; /* ${describe(type)}${optional ? `, when has_${name}` : ''} */`);
      const key = JSON.stringify(name);
      decodes.push(
        optional
          ? `    {
        struct cnode_contract_path at = {p, ${key}, 0};
        const msgpack_object *v = cnode_map_get(o, ${key});
        if (v != NULL && v->type != MSGPACK_OBJECT_NIL) {
            if (${fn.decode}(v, &out->${name}, arena, &at, err, errlen) != 0) return -1;
            out->has_${name} = true;
        }
    }`
          : `    {
        struct cnode_contract_path at = {p, ${key}, 0};
        const msgpack_object *v = cnode_map_get(o, ${key});
        if (v == NULL) return cnode_contract_mismatch(err, errlen, &at, "is missing (${typeName(type)})", NULL);
        if (${fn.decode}(v, &out->${name}, arena, &at, err, errlen) != 0) return -1;
    }`,
      );
      const packOne = `if (msgpack_pack_str_with_body(pk, ${key}, ${Buffer.byteLength(name)}) != 0 || ${fn.pack}(node, pk, &v->${name}) != 0) return -1;`;
      packs.push(optional ? `    if (v->has_${name}) {\n        ${packOne}\n    }` : `    ${packOne}`);
    }
    const count = [String(required), ...optionals.map((name) => `(v->has_${name} ? 1 : 0)`)].join(' + ');
    this.definitions.push({
      local,
      code: `/* ${describeFields(fields)} */
struct ${p}_${local} {
${members.length > 0 ? members.join('\n') : '    char unused; /* no fields: C needs one */'}
};

static inline int ${p}_decode_${local}_at(const msgpack_object *o, struct ${p}_${local} *out,
        struct cnode_contract_arena *arena, const struct cnode_contract_path *p, char *err, size_t errlen)
{
    (void)arena;
    if (o->type != MSGPACK_OBJECT_MAP) return cnode_contract_mismatch(err, errlen, p, "must be a map", o);
    memset(out, 0, sizeof *out);
${decodes.join('\n')}
    return 0;
}

static inline int ${p}_pack_${local}(cnode_t *node, msgpack_packer *pk, const struct ${p}_${local} *v)
{
    (void)node, (void)v;
    if (msgpack_pack_map(pk, (size_t)(${count})) != 0) return -1;
${packs.join('\n')}
    return 0;
}
`,
    });
    return local;
  }
}

/** The header for `contract`; `source` names the contract's file in its first line. */
export function generateC(contract: Contract, source: string): string {
  const p = contract.name;
  const guard = `${p.toUpperCase()}_CONTRACT_H`;
  const w = new Writer(p);
  const ops = Object.entries(contract.operations);
  const api: string[] = [];
  const slots: string[] = [];
  const cases: string[] = [];
  for (const [op, { request, response }] of ops) {
    w.struct(request, `${op}_request`);
    const signature = `${op}: ${describeFields(request)} -> ${describe(response)}`;
    let pack: string;
    if (response.kind === 'struct' && response.name === undefined && !w.has(response.fields)) {
      w.struct(response.fields, `${op}_response`);
      pack = `${p}_pack_${op}_response(node, reply, response)`;
    } else {
      const c = w.cType(response, `${op}_response`);
      // A named or shared struct keeps its own C name: the response wraps it as `value`, as it does a scalar.
      const fn =
        response.kind === 'array'
          ? `${p}_pack_${w.array(response.of, `${op}_response_item`)}`
          : response.kind === 'struct'
            ? `${p}_pack_${w.struct(response.fields, response.name ?? `${op}_response_value`)}`
            : `cnode_contract_pack_${SCALAR_LOCAL[response.kind]}`;
      w.claim(`${op}_response`);
      w.definitions.push({
        local: `${op}_response`,
        code: `/* ${op}'s answer, ${describe(response)}. */
struct ${p}_${op}_response {
    ${c} value; /* the answer */
};
`,
      });
      pack = `${fn}(node, reply, &response->value)`;
    }
    api.push(`/*
 * ${signature}
 * Decodes a request (a map, its op aside) into *out, checking every field. Returns 0; or -1 with
 * the reason in err, "bad message: <path> must be ...", naming the first wrong field. Arrays are
 * allocated in arena: cnode_contract_arena_free(arena) when done with *out.
 */
static inline int ${p}_decode_${op}_request(const msgpack_object *request, struct ${p}_${op}_request *out,
        struct cnode_contract_arena *arena, char *err, size_t errlen)
{
    return ${p}_decode_${op}_request_at(request, out, arena, NULL, err, errlen);
}

/* Packs ${op}'s answer into reply, as the owner's typed client expects it; a cast (reply NULL) packs nothing. Returns 0 or -1. */
static inline int ${p}_reply_${op}(cnode_t *node, msgpack_packer *reply, const struct ${p}_${op}_response *response)
{
    if (reply == NULL) return 0;
    return ${pack} == 0 ? 0 : -1;
}
`);
    slots.push(`    /* ${signature}: answer with ${p}_reply_${op}(node, reply, &response). */
    int (*${op})(cnode_t *node, const struct ${p}_${op}_request *request, msgpack_packer *reply, void *user);`);
    const name = JSON.stringify(op);
    cases.push(`    if (op->via.str.size == ${Buffer.byteLength(op)} && memcmp(op->via.str.ptr, ${name}, ${Buffer.byteLength(op)}) == 0) {
        struct ${p}_${op}_request decoded;
        struct cnode_contract_arena arena = {NULL, 0};
        int rc;
        if (${p}_decode_${op}_request(request, &decoded, &arena, err, sizeof err) != 0)
            rc = CNODE_CONTRACT_REFUSE(node, "%s", err);
        else if (handlers->${op} == NULL)
            rc = cnode_fail(node, "contract ${p}: the worker has no handler for ${op}");
        else
            rc = handlers->${op}(node, &decoded, reply, user);
        cnode_contract_arena_free(&arena);
        return rc;
    }`);
  }
  const opList = ops.map(([op]) => op).join(', ');
  return `/*
 * The C side of contract "${p}", generated by \`npx cnode gen\` from ${source}.
 * Do not edit: change the contract and generate it again (docs/contract.md describes this file).
 *
 * Operations: ${opList}. Each request is a map {op: "<name>", ...fields}; ${p}_dispatch decodes it,
 * checking every field's type, and calls that operation's handler, or fails the call with
 * "bad message: <path> ..." before any handler runs. Use ${p}_handle as the worker's handler:
 *
 *     struct ${p}_handlers handlers = {.${ops[0][0]} = my_${ops[0][0]}, .user = NULL};
 *     cnode_run(node, ${p}_handle, &handlers);
 */
#ifndef ${guard}
#define ${guard}

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cnode.h>

${RUNTIME}
${w.definitions.map((d) => d.code).join('\n')}
${api.join('\n')}
/* One handler per operation; a NULL one fails its calls. */
struct ${p}_handlers {
${slots.join('\n')}
    void *user; /* passed to each handler by ${p}_handle */
};

/*
 * Decodes \`request\` by its op and calls that operation's handler with \`user\`: usable from any
 * cnode_handler. A request that is not a map, has no op, names no operation of the contract or
 * whose fields do not match fails the call ("bad message: ..."); the handler does not run.
 * Returns the handler's result, or -1.
 */
static inline int ${p}_dispatch(cnode_t *node, const msgpack_object *request, msgpack_packer *reply,
        const struct ${p}_handlers *handlers, void *user)
{
    char err[512];
    if (request->type != MSGPACK_OBJECT_MAP)
        return CNODE_CONTRACT_REFUSE(node, "bad message: the request must be a map with an op, got %s", cnode_type_name(request));
    const msgpack_object *op = cnode_map_get(request, "op");
    if (op == NULL) return CNODE_CONTRACT_REFUSE(node, "bad message: op is missing (one of ${opList})");
    if (op->type != MSGPACK_OBJECT_STR)
        return CNODE_CONTRACT_REFUSE(node, "bad message: op must be a string, got %s", cnode_type_name(op));
${cases.join('\n')}
    return CNODE_CONTRACT_REFUSE(node, "bad message: op \\"%.*s\\" is not an operation of contract ${p} (${opList})",
                                 op->via.str.size > 64 ? 64 : (int)op->via.str.size, op->via.str.ptr);
}

/* A cnode_handler: \`cnode_run(node, ${p}_handle, &handlers)\`, with struct ${p}_handlers *. */
static inline int ${p}_handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *handlers)
{
    const struct ${p}_handlers *h = (const struct ${p}_handlers *)handlers;
    return ${p}_dispatch(node, request, reply, h, h->user);
}

#endif /* ${guard} */
`;
}
