/*
 * sqlite.c: a legacy library wrapped as a worker. One SQLite database, opened once, in a process
 * of its own: a crash in it, or a query that never ends, costs a worker the supervisor restarts,
 * not the Node process. It shows the helpers of cnode.h a wrapper needs: typed getters
 * (cnode_get_str hands the SQL to sqlite3_prepare_v2 by pointer and length, with no copy),
 * cnode_copy_str, rows packed into an array whose count is known only at the end
 * (cnode_array_begin/end), and errors with SQLite's own code name (cnode_fail_code): a call
 * that breaks a UNIQUE constraint rejects with ERR_CNODE_REMOTE and remoteCode
 * 'SQLITE_CONSTRAINT'.
 *
 * User argument: the database file (default ":memory:"). Built by CMake as build/bin/sqlite only
 * where pkg-config finds sqlite3 (Debian: libsqlite3-dev); by hand:
 *     npx cnode cc cnode/examples/sqlite.c -o sqlite $(pkg-config --cflags --libs sqlite3)
 *
 * Calls, each a map:
 *   {op: "exec", sql}            runs every statement in sql (no parameters, no rows): DDL, say;
 *                                answers the rows changed
 *   {op: "run", sql, params?}    one statement, its ? parameters bound from the params array
 *                                (integer, float, string, Buffer, boolean, null); answers
 *                                {changes, lastInsertRowid}
 *   {op: "query", sql, params?}  one statement; answers its rows, each a map column -> value
 *                                (integer, float, string, Buffer, null)
 * A failure of SQLite fails the call with the name of its primary result code as remoteCode
 * (SQLITE_ERROR for bad SQL, SQLITE_CONSTRAINT, SQLITE_BUSY, ...) and sqlite3_errmsg() as the
 * reason; a request of the wrong shape with remoteCode BAD_REQUEST.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <cnode.h>

/* The names of SQLite's primary result codes (sqlite3.h), by value. */
static const char *const s_names[] = {
    "SQLITE_OK",       "SQLITE_ERROR",    "SQLITE_INTERNAL", "SQLITE_PERM",     "SQLITE_ABORT",
    "SQLITE_BUSY",     "SQLITE_LOCKED",   "SQLITE_NOMEM",    "SQLITE_READONLY", "SQLITE_INTERRUPT",
    "SQLITE_IOERR",    "SQLITE_CORRUPT",  "SQLITE_NOTFOUND", "SQLITE_FULL",     "SQLITE_CANTOPEN",
    "SQLITE_PROTOCOL", "SQLITE_EMPTY",    "SQLITE_SCHEMA",   "SQLITE_TOOBIG",   "SQLITE_CONSTRAINT",
    "SQLITE_MISMATCH", "SQLITE_MISUSE",   "SQLITE_NOLFS",    "SQLITE_AUTH",     "SQLITE_FORMAT",
    "SQLITE_RANGE",    "SQLITE_NOTADB",   "SQLITE_NOTICE",   "SQLITE_WARNING",
};

static const char *s_code_name(int rc)
{
    int primary = rc & 0xff;
    if (primary >= 0 && (size_t)primary < sizeof s_names / sizeof *s_names) return s_names[primary];
    return primary == SQLITE_ROW ? "SQLITE_ROW" : primary == SQLITE_DONE ? "SQLITE_DONE" : "SQLITE_UNKNOWN";
}

/* Fails the call with SQLite's code and message, and finalizes the statement. */
static int s_fail(cnode_t *node, sqlite3 *db, sqlite3_stmt *stmt, int rc)
{
    int code = sqlite3_extended_errcode(db) != 0 ? sqlite3_extended_errcode(db) : rc;
    int failed = cnode_fail_code(node, s_code_name(code), "%s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return failed;
}

/* Binds the request's params array to the statement's ? parameters. Returns 0, or fails. */
static int s_bind(cnode_t *node, sqlite3 *db, sqlite3_stmt *stmt, const msgpack_object *request)
{
    const msgpack_object *params = cnode_map_get(request, "params");
    if (params == NULL || params->type == MSGPACK_OBJECT_NIL) return 0;
    if (params->type != MSGPACK_OBJECT_ARRAY)
        return cnode_fail_code(node, "BAD_REQUEST", "params: expected an array");
    for (uint32_t i = 0; i < params->via.array.size; i++) {
        const msgpack_object *p = &params->via.array.ptr[i];
        int at = (int)i + 1, rc;
        /* SQLITE_STATIC: the request's bytes outlive the statement, finalized in this handler. */
        switch (p->type) {
        case MSGPACK_OBJECT_NIL: rc = sqlite3_bind_null(stmt, at); break;
        case MSGPACK_OBJECT_BOOLEAN: rc = sqlite3_bind_int(stmt, at, p->via.boolean); break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (p->via.u64 > (uint64_t)INT64_MAX)
                return cnode_fail_code(node, "BAD_REQUEST", "params[%u]: over 2^63-1", i);
            rc = sqlite3_bind_int64(stmt, at, (sqlite3_int64)p->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: rc = sqlite3_bind_int64(stmt, at, p->via.i64); break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: rc = sqlite3_bind_double(stmt, at, p->via.f64); break;
        case MSGPACK_OBJECT_STR:
            rc = sqlite3_bind_text(stmt, at, p->via.str.size ? p->via.str.ptr : "",
                                   (int)p->via.str.size, SQLITE_STATIC);
            break;
        case MSGPACK_OBJECT_BIN:
            rc = sqlite3_bind_blob(stmt, at, p->via.bin.size ? p->via.bin.ptr : "",
                                   (int)p->via.bin.size, SQLITE_STATIC);
            break;
        default: return cnode_fail_code(node, "BAD_REQUEST", "params[%u]: not a scalar", i);
        }
        if (rc != SQLITE_OK) return cnode_fail_code(node, s_code_name(rc), "%s", sqlite3_errmsg(db));
    }
    return 0;
}

/* One row as a map column -> value. */
static int s_pack_row(cnode_t *node, msgpack_packer *pk, sqlite3_stmt *stmt)
{
    int columns = sqlite3_column_count(stmt);
    if (msgpack_pack_map(pk, (size_t)columns) < 0) return -1;
    for (int c = 0; c < columns; c++) {
        const char *name = sqlite3_column_name(stmt, c);
        if (msgpack_pack_str_with_body(pk, name, strlen(name)) < 0) return -1;
        int rc;
        switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER: rc = msgpack_pack_int64(pk, sqlite3_column_int64(stmt, c)); break;
        case SQLITE_FLOAT: rc = msgpack_pack_double(pk, sqlite3_column_double(stmt, c)); break;
        case SQLITE_TEXT:
            rc = msgpack_pack_str_with_body(pk, sqlite3_column_text(stmt, c),
                                            (size_t)sqlite3_column_bytes(stmt, c));
            break;
        case SQLITE_BLOB:
            rc = cnode_pack_bin(node, pk, sqlite3_column_blob(stmt, c),
                                (size_t)sqlite3_column_bytes(stmt, c));
            break;
        default: rc = msgpack_pack_nil(pk);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

/* exec: every statement of the SQL in turn, by pointer and length (no NUL needed). */
static int s_exec(cnode_t *node, sqlite3 *db, const char *sql, size_t len, msgpack_packer *reply)
{
    const char *end = sql + len;
    /* sqlite3_changes() keeps the last INSERT's count through a CREATE: the total's growth is
       what these statements changed. */
    int before = sqlite3_total_changes(db);
    while (sql < end) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        int rc = sqlite3_prepare_v2(db, sql, (int)(end - sql), &stmt, &tail);
        if (rc != SQLITE_OK) return s_fail(node, db, stmt, rc);
        sql = tail;
        if (stmt == NULL) continue; /* whitespace or a comment */
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
        if (rc != SQLITE_DONE) return s_fail(node, db, stmt, rc);
        sqlite3_finalize(stmt);
    }
    return msgpack_pack_int(reply, sqlite3_total_changes(db) - before);
}

static int handle(cnode_t *node, const msgpack_object *request, msgpack_packer *reply, void *user)
{
    sqlite3 *db = user;
    char op[16];
    if (cnode_copy_str(cnode_map_get(request, "op"), op, sizeof op) < 0)
        return cnode_fail_code(node, "BAD_REQUEST", "expected {op: \"exec\" | \"run\" | \"query\"}");
    size_t len;
    const char *sql = cnode_get_str(request, "sql", &len);
    if (sql == NULL) return cnode_fail_code(node, "BAD_REQUEST", "sql: expected a string");
    /* A cast (reply NULL) runs the statement too; there is nothing to answer. */
    if (!strcmp(op, "exec")) {
        if (reply != NULL) return s_exec(node, db, sql, len, reply);
        msgpack_sbuffer drop;
        msgpack_packer pk;
        msgpack_sbuffer_init(&drop);
        msgpack_packer_init(&pk, &drop, msgpack_sbuffer_write);
        int rc = s_exec(node, db, sql, len, &pk);
        msgpack_sbuffer_destroy(&drop);
        return rc;
    }
    if (strcmp(op, "run") != 0 && strcmp(op, "query") != 0)
        return cnode_fail_code(node, "BAD_REQUEST", "unknown op \"%s\"", op);

    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, (int)len, &stmt, NULL);
    if (rc != SQLITE_OK) return s_fail(node, db, stmt, rc);
    if (stmt == NULL) return cnode_fail_code(node, "BAD_REQUEST", "sql holds no statement");
    if (s_bind(node, db, stmt, request) < 0) {
        sqlite3_finalize(stmt);
        return -1;
    }
    if (op[0] == 'r') {
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
        if (rc != SQLITE_DONE) return s_fail(node, db, stmt, rc);
        sqlite3_finalize(stmt);
        if (reply == NULL) return 0;
        msgpack_pack_map(reply, 2);
        msgpack_pack_str_with_body(reply, "changes", 7);
        msgpack_pack_int(reply, sqlite3_changes(db));
        msgpack_pack_str_with_body(reply, "lastInsertRowid", 15);
        return msgpack_pack_int64(reply, sqlite3_last_insert_rowid(db));
    }
    if (reply == NULL) {
        sqlite3_finalize(stmt);
        return 0;
    }
    /* The rows' count is known only once the cursor is done: the array's is written then. */
    cnode_array rows;
    if (cnode_array_begin(reply, NULL, &rows) < 0) {
        sqlite3_finalize(stmt);
        return cnode_fail(node, "cnode_array_begin: %s", cnode_strerror(errno));
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (s_pack_row(node, reply, stmt) < 0) {
            sqlite3_finalize(stmt);
            return cnode_fail(node, "out of memory packing a row");
        }
    if (rc != SQLITE_DONE) return s_fail(node, db, stmt, rc);
    sqlite3_finalize(stmt);
    return cnode_array_end(&rows);
}

int main(int argc, char **argv)
{
    cnode_t *node = cnode_init(argc, argv);
    if (node == NULL) return 1;
    const char *path = cnode_argc(node) > 0 ? cnode_argv(node)[0] : ":memory:";
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite: cannot open %s: %s\n", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        cnode_destroy(node);
        return 1;
    }
    int status = cnode_run(node, handle, db);
    sqlite3_close(db);
    cnode_destroy(node);
    return status;
}
