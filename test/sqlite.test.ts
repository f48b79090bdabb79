// The wrapped-library example, cnode/examples/sqlite.c: a real SQLite database in a worker, its
// errors as ERR_CNODE_REMOTE with SQLite's own code name. CMake builds it only where pkg-config
// finds sqlite3 (libsqlite3-dev, which .ci/run installs); without it this file skips, and says so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { binary, expectNothingLeft, rejection } from './helpers.js';

const executable = binary('sqlite');
const built = fs.existsSync(executable);
if (!built)
  console.warn(`test/sqlite.test.ts skipped: no ${executable} (apt-get install libsqlite3-dev, then rebuild)`);

describe.skipIf(!built)('the sqlite example', () => {
  let node: CNode;
  beforeAll(async () => {
    node = await CNode.start({ executable });
  });
  afterAll(async () => {
    await node?.stop();
    await expectNothingLeft();
  });

  it('creates a table, inserts with bound parameters, and selects the rows back', async () => {
    expect(
      await node.call({
        op: 'exec',
        sql: 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, score REAL, avatar BLOB);',
      }),
    ).toBe(0);
    const avatar = Buffer.from([0, 1, 2, 255]);
    expect(
      await node.call({
        op: 'run',
        sql: 'INSERT INTO users (name, score, avatar) VALUES (?, ?, ?)',
        params: ['ada', 9.5, avatar],
      }),
    ).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(
      await node.call({ op: 'run', sql: 'INSERT INTO users (name, score) VALUES (?, ?)', params: ['grace', null] }),
    ).toEqual({ changes: 1, lastInsertRowid: 2 });
    expect(await node.call({ op: 'query', sql: 'SELECT id, name, score, avatar FROM users ORDER BY id' })).toEqual([
      { id: 1, name: 'ada', score: 9.5, avatar },
      { id: 2, name: 'grace', score: null, avatar: null },
    ]);
    expect(await node.call({ op: 'query', sql: 'SELECT name FROM users WHERE score > ?', params: [100] })).toEqual([]);
  });

  it('a constraint violation rejects with ERR_CNODE_REMOTE, remoteCode SQLITE_CONSTRAINT', async () => {
    const error = await rejection(
      node.call({ op: 'run', sql: 'INSERT INTO users (name) VALUES (?)', params: ['ada'] }),
    );
    expect(error.code).toBe('ERR_CNODE_REMOTE');
    expect(error.remoteCode).toBe('SQLITE_CONSTRAINT');
    expect(error.message).toBe(
      `cnode ${node.name} failed the call: SQLITE_CONSTRAINT: UNIQUE constraint failed: users.name`,
    );
    // The database is as it was, and the worker goes on.
    expect(await node.call({ op: 'query', sql: 'SELECT count(*) AS n FROM users' })).toEqual([{ n: 2 }]);
  });

  it('bad SQL is SQLITE_ERROR, a bad request BAD_REQUEST', async () => {
    expect(await rejection(node.call({ op: 'query', sql: 'SELEKT 1' }))).toMatchObject({
      code: 'ERR_CNODE_REMOTE',
      remoteCode: 'SQLITE_ERROR',
    });
    expect(await rejection(node.call({ op: 'query' }))).toMatchObject({ remoteCode: 'BAD_REQUEST' });
    expect(await rejection(node.call({ op: 'drop-everything', sql: 'x' }))).toMatchObject({
      remoteCode: 'BAD_REQUEST',
    });
    expect(await rejection(node.call({ op: 'run', sql: 'SELECT ?', params: [[1]] }))).toMatchObject({
      remoteCode: 'BAD_REQUEST',
      message: expect.stringContaining('params[0]: not a scalar'),
    });
  });

  it('returns many rows in one array, counted at the end', async () => {
    expect(
      await node.call({
        op: 'exec',
        sql: 'CREATE TABLE n (v INTEGER); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 70000) INSERT INTO n SELECT x FROM c;',
      }),
    ).toBe(70_000);
    expect(await node.call({ op: 'exec', sql: 'CREATE TABLE empty (x);' })).toBe(0); // not the last INSERT's
    const rows = (await node.call({ op: 'query', sql: 'SELECT v FROM n ORDER BY v' })) as { v: number }[];
    expect(rows).toHaveLength(70_000);
    expect(rows[69_999]).toEqual({ v: 70_000 });
  });

  it('opens the database file given as its argument', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-sqlite-'));
    const file = path.join(dir, 'test.db');
    try {
      const db = await CNode.start({ executable, args: [file] });
      await db.call({ op: 'exec', sql: 'CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);' });
      await db.stop();
      const again = await CNode.start({ executable, args: [file] });
      expect(await again.call({ op: 'query', sql: 'SELECT x FROM t' })).toEqual([{ x: 1 }, { x: 2 }]);
      await again.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
