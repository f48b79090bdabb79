// The msgpack-c helpers of cnode.h, in a real worker (test/workers/helpers.c): the typed getters
// and their defaults, wrong types, cnode_copy_str, and the array whose count is written at the end.
import { once } from 'node:events';
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode } from '../src/index.js';
import { binary, expectNothingLeft, rejection } from './helpers.js';

const { EINVAL, ERANGE, EILSEQ } = constants.errno;

let node: CNode;
beforeAll(async () => {
  node = await CNode.start({ executable: binary('helpers'), transport: 'local' });
});
afterAll(async () => {
  await node.stop();
  await expectNothingLeft();
});

const get = (op: string, fields: Record<string, unknown>) => node.call({ op, ...fields });

describe('cnode_get_i64', () => {
  it('gives the integer, negative and up to 2^63-1', async () => {
    expect(await get('i64', { v: 7 })).toEqual([7, 0]);
    expect(await get('i64', { v: -(2 ** 40) })).toEqual([-(2 ** 40), 0]);
    expect(await get('i64', { v: 2n ** 63n - 1n })).toEqual([2n ** 63n - 1n, 0]);
    expect(await get('i64', { v: -(2n ** 63n) })).toEqual([-(2n ** 63n), 0]);
  });
  it('gives the fallback, errno untouched, when the key is absent or nil', async () => {
    expect(await get('i64', {})).toEqual([42, 0]);
    expect(await get('i64', { v: null })).toEqual([42, 0]);
  });
  it('gives the fallback with EINVAL for the wrong type (a float too), ERANGE past 2^63-1', async () => {
    for (const v of ['7', 1.5, true, [1], { a: 1 }, Buffer.from('7')])
      expect(await get('i64', { v })).toEqual([42, EINVAL]);
    expect(await get('i64', { v: 2n ** 63n })).toEqual([42, ERANGE]);
  });
  it('reads a map that is not a map as having no key, with EINVAL', async () => {
    expect(await get('i64', { in: [1, 2] })).toEqual([42, EINVAL]);
    expect(await get('i64', { in: { v: 5 } })).toEqual([5, 0]);
  });
});

describe('cnode_get_f64', () => {
  it('gives a float, or an integer as a double', async () => {
    expect(await get('f64', { v: 0.25 })).toEqual([0.25, 0]);
    expect(await get('f64', { v: -3 })).toEqual([-3, 0]);
    expect(await get('f64', { v: 2 ** 53 })).toEqual([2 ** 53, 0]);
  });
  it('gives the fallback when absent or nil, and with EINVAL for the wrong type', async () => {
    expect(await get('f64', {})).toEqual([1.5, 0]);
    expect(await get('f64', { v: null })).toEqual([1.5, 0]);
    expect(await get('f64', { v: '0.5' })).toEqual([1.5, EINVAL]);
    expect(await get('f64', { v: false })).toEqual([1.5, EINVAL]);
  });
});

describe('cnode_get_str and cnode_get_bin', () => {
  it('give the bytes and their length, without a copy, an empty one too', async () => {
    expect(await get('str', { v: 'héllo' })).toEqual(['héllo', 6, 0]);
    expect(await get('str', { v: '' })).toEqual(['', 0, 0]);
    expect(await get('str', { v: 'a\0b' })).toEqual(['a\0b', 3, 0]);
    expect(await get('bin', { v: Buffer.from([0, 1, 255]) })).toEqual([Buffer.from([0, 1, 255]), 3, 0]);
    expect(await get('bin', { v: Buffer.alloc(0) })).toEqual([Buffer.alloc(0), 0, 0]);
    const big = Buffer.alloc(100_000, 9); // a side part: the getter sees its bytes all the same
    const [bytes, len, errno] = (await get('bin', { v: big })) as [Buffer, number, number];
    expect([len, errno, bytes.equals(big)]).toEqual([100_000, 0, true]);
  });
  it('give NULL and 0 when absent or nil, and with EINVAL for the wrong type', async () => {
    expect(await get('str', {})).toEqual([null, 0, 0]);
    expect(await get('str', { v: null })).toEqual([null, 0, 0]);
    expect(await get('str', { v: Buffer.from('x') })).toEqual([null, 0, EINVAL]);
    expect(await get('str', { v: 1 })).toEqual([null, 0, EINVAL]);
    expect(await get('bin', { v: 'x' })).toEqual([null, 0, EINVAL]);
    expect(await get('bin', {})).toEqual([null, 0, 0]);
  });
});

describe('cnode_copy_str', () => {
  it('copies the string with a NUL after it when it fits', async () => {
    expect(await get('copy', { v: 'abc', size: 4 })).toEqual([0, 0, 'abc']);
    expect(await get('copy', { v: '', size: 1 })).toEqual([0, 0, '']);
  });
  it('refuses, leaving "" in the buffer, when it does not fit (ERANGE)', async () => {
    expect(await get('copy', { v: 'abc', size: 3 })).toEqual([-1, ERANGE, '']);
    expect(await get('copy', { v: 'x'.repeat(300), size: 256 })).toEqual([-1, ERANGE, '']);
  });
  it('refuses a NUL inside (EILSEQ), a non-string or a size of 0 (EINVAL)', async () => {
    expect(await get('copy', { v: 'a\0b', size: 16 })).toEqual([-1, EILSEQ, '']);
    expect(await get('copy', { v: 5, size: 16 })).toEqual([-1, EINVAL, '']);
    expect(await get('copy', { size: 16 })).toEqual([-1, EINVAL, '']);
    expect(await get('copy', { v: 'abc', size: 0 })).toEqual([-1, EINVAL, null]);
  });
});

describe('cnode_type_name', () => {
  it('names the kind of every value, for a message', async () => {
    const values = [null, true, 1, -1, 1.5, 'a', Buffer.from('b'), [1], { m: 1 }];
    const names = await Promise.all(values.map((v) => get('type', { v })));
    expect(names).toEqual([
      'nil',
      'a boolean',
      'an integer',
      'an integer',
      'a float',
      'a string',
      'a binary',
      'an array',
      'a map',
    ]);
  });
});

describe('cnode_array_begin and cnode_array_end', () => {
  it('pack an array whose count is known only at the end, in the reply', async () => {
    expect(await get('rows', { n: 0 })).toEqual([]);
    expect(await get('rows', { n: 3 })).toEqual([0, 1, 2]);
    const many = await get('rows', { n: 70_000 }); // more than an array16 holds
    expect(many).toHaveLength(70_000);
    expect((many as number[])[69_999]).toBe(69_999);
  });
  it('count a big binary (a side part of the reply) as one element', async () => {
    const rows = (await get('rows', { n: 2, big: 65_536 })) as unknown[];
    expect(rows).toHaveLength(3);
    expect(rows.slice(0, 2)).toEqual([0, 1]);
    expect(Buffer.alloc(65_536, 7).equals(rows[2] as Buffer)).toBe(true);
  });
  it('nest, the inner ended before the outer', async () => {
    expect(await get('nested', { n: 4 })).toEqual([[], ['x'], ['x', 'x'], ['x', 'x', 'x']]);
  });
  it('work over a packer of your own for cnode_send', async () => {
    const message = once(node, 'message');
    expect(await get('send-rows', { n: 5 })).toBe(5);
    expect(await message).toEqual([[0, 1, 2, 3, 4]]);
  });
  it('refuse a packer that is not the reply without its buffer, the wrong buffer, and a header gone', async () => {
    expect(await get('array-misuse', {})).toEqual([EINVAL, EINVAL, EINVAL]);
  });
});

it('a request the helpers worker does not know fails with its own code', async () => {
  expect(await rejection(node.call({ op: 'what' }))).toMatchObject({
    code: 'ERR_CNODE_REMOTE',
    remoteCode: 'UNKNOWN_OP',
  });
});
