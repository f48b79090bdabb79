import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type CallOptions,
  CNodePool,
  defineContract,
  type PoolCallOptions,
  type RequestOf,
  type ResponseOf,
  t,
  typed,
} from '../src/index.js';
import { expectNothingLeft, rejection, startedNodes, workerOptions } from './helpers.js';

// A contract for the echo worker's own ops (cnode/examples/echo.c), written in TypeScript: the
// types below are what `tsc -p test/tsconfig.json` checks (npm test runs it); a @ts-expect-error
// line that stopped being an error fails that check.
const point = t.struct({ x: t.f64, y: t.f64 });
const echo = defineContract('echo', {
  add: { request: { a: t.i64, b: t.i64 }, response: t.i64 },
  echo: { request: { value: t.string }, response: t.string },
  sum: { request: { values: t.array(t.f64) }, response: t.f64 },
  shape: {
    request: { at: point, tags: t.array(t.string), data: t.optional(t.bytes), deep: t.array(t.array(point)) },
    response: t.struct({ ok: t.bool, note: t.optional(t.string) }),
  },
});
type Ops = (typeof echo)['operations'];

const nodes = startedNodes({ after: () => expectNothingLeft() });

describe('the typed client: types from the contract, checks at run time', () => {
  it('infers each operation request and response', () => {
    expectTypeOf<RequestOf<Ops['add']>>().toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf<ResponseOf<Ops['add']>>().toEqualTypeOf<number>();
    expectTypeOf<RequestOf<Ops['shape']>>().toEqualTypeOf<{
      at: { x: number; y: number };
      tags: string[];
      data?: Uint8Array;
      deep: { x: number; y: number }[][];
    }>();
    expectTypeOf<ResponseOf<Ops['shape']>>().toEqualTypeOf<{ ok: boolean; note?: string }>();
  });

  it('makes a wrong argument or a wrong use of the answer a compile error', async () => {
    const api = typed(await nodes.start(workerOptions('echo').options), echo);
    expectTypeOf(api.add).parameter(0).toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf(api.add).returns.resolves.toEqualTypeOf<number>();
    expectTypeOf(api.echo).returns.resolves.toEqualTypeOf<string>();
    const n: number = await api.add({ a: 1, b: 2 });
    expect(n).toBe(3);
    // The wrong uses, each caught by tsc; at run time the owner's check catches the first three.
    // @ts-expect-error a string where the contract says i64
    await expect(api.add({ a: 1, b: '2' })).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    // @ts-expect-error b is missing
    await expect(api.add({ a: 1 })).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    // @ts-expect-error a Date is no message
    await expect(api.echo({ value: new Date() })).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    // @ts-expect-error no such operation
    expect(api.divide).toBeUndefined();
    const text = await api.echo({ value: 'hi' });
    // @ts-expect-error the answer is a string, not a number
    const wrong: number = text;
    expect(wrong).toBe('hi');
    // @ts-expect-error the answer is a number: it has no toUpperCase
    expect(() => n.toUpperCase()).toThrow(TypeError);
  });

  it('checks the request before sending, naming the path, and sends only the contract fields', async () => {
    const node = await nodes.start(workerOptions('echo').options);
    const api = typed(node, echo);
    const cases: [unknown, RegExp][] = [
      [{ a: 1, b: 2 ** 53 }, /b must be an int64 \(a safe integer\), got the integer 9007199254740992/],
      [{ a: 1, b: 2.5 }, /b must be an int64 \(a safe integer\), got the number 2.5/],
      [{ a: null, b: 1 }, /a must be an int64 \(a safe integer\), got nil/],
      [null, /the request must be a map \(an object\), got nil/],
    ];
    for (const [request, pattern] of cases) {
      const error = await rejection(api.add(request as never));
      expect(error).toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE', node: node.name });
      expect(error.message).toMatch(pattern);
      expect(error.message).toMatch(/nothing was sent$/);
    }
    const shape = { at: { x: 0, y: 0 }, tags: ['a'], deep: [[{ x: 1, y: 2 }], [{ x: 3, y: '4' }]] };
    await expect(api.shape(shape as never)).rejects.toThrow(
      /echo\.shape: bad message: deep\[1\]\[0\]\.y must be a float64, got a string/,
    );
    // Extra properties (an object built elsewhere) stay home: echo.c answers "add" from a and b only,
    // and the wire map is { op, a, b }.
    const extra = { a: 2, b: 3, secret: 'not sent' };
    await expect(api.add(extra)).resolves.toBe(5);
    await expect(api.sum({ values: [0.5, 0.25] })).resolves.toBe(0.75);
  });

  it("works over a pool too, with the pool's call options", async () => {
    const pool = await CNodePool.start({ ...workerOptions('echo').options, size: 2 });
    try {
      const api = typed(pool, echo);
      expectTypeOf(api.add).parameter(1).toEqualTypeOf<PoolCallOptions | undefined>();
      expectTypeOf(typed(await nodes.start(workerOptions('echo').options), echo).add)
        .parameter(1)
        .toEqualTypeOf<CallOptions | undefined>();
      const answers = await Promise.all([1, 2, 3, 4].map((a) => api.add({ a, b: 10 }, { timeout: 5000 })));
      expect(answers).toEqual([11, 12, 13, 14]);
      await expect(api.add({ a: 1, b: 'x' } as never)).rejects.toMatchObject({ code: 'ERR_CNODE_BAD_MESSAGE' });
    } finally {
      await pool.stop();
    }
  });

  it('refuses a worker answer outside the contract', async () => {
    const node = await nodes.start(workerOptions('echo').options);
    // echo.c answers "echo" with the value it is given: a contract saying i64 meets a string.
    const lying = defineContract('lying', { echo: { request: { value: t.string }, response: t.i64 } });
    await expect(typed(node, lying).echo({ value: 'x' })).rejects.toMatchObject({
      code: 'ERR_CNODE_BAD_MESSAGE',
      message: expect.stringMatching(
        /answered lying\.echo outside its contract: response must be an int64 \(a safe integer\), got a string$/,
      ),
    });
  });

  it('refuses a contract that cannot become C, naming the part', () => {
    expect(() => defineContract('my-contract', { a: { request: {}, response: t.bool } })).toThrow(
      /the contract name must be a C identifier that is not a C or C\+\+ keyword nor reserved \(no leading _, no __\), got `"my-contract"`/,
    );
    expect(() => defineContract('c', { int: { request: {}, response: t.bool } })).toThrow(
      /operation name must be a C identifier/,
    );
    expect(() => defineContract('c', { go: { request: { op: t.string }, response: t.bool } })).toThrow(
      /cannot have a field named op/,
    );
    expect(() => defineContract('c', { go: { request: { x: 'i64' as never }, response: t.bool } })).toThrow(
      /go\.request\.x must be a type of the vocabulary/,
    );
    expect(() => defineContract('c', { go: { request: {}, response: t.optional(t.bool) as never } })).toThrow(
      /go\.response: only a struct's field can be optional/,
    );
    expect(() => defineContract('c', {})).toThrow(/needs at least one operation/);
    expect(() =>
      defineContract('c', { go: { request: { x: t.optional(t.bool), has_x: t.bool }, response: t.bool } }),
    ).toThrow(/field has_x would clash with the optional x's has_x in C/);
    expect(() => defineContract('c', { go: { request: { s: t.struct({}, 'handlers') }, response: t.bool } })).toThrow(
      /struct name `"handlers"` \(string\) is taken by the C header/,
    );
    // Names the header cannot use: C++ and GNU keywords, macros, reserved identifiers, its own.
    for (const name of ['class', 'new', 'typeof', 'unix', 'errno', 'NULL', '_x', 'a__b'])
      expect(() => defineContract('c', { go: { request: { [name]: t.bool }, response: t.bool } })).toThrow(
        /field name must be a C identifier that is not a C or C\+\+ keyword nor reserved/,
      );
    expect(() => defineContract('cnode', { go: { request: {}, response: t.bool } })).toThrow(/clash with cnode\.h/);
    expect(() => defineContract('c', { user: { request: {}, response: t.bool } })).toThrow(
      /"user" is taken by struct c_handlers/,
    );
    const loop = t.struct({ x: t.f64 });
    (loop.fields as Record<string, unknown>).self = t.array(loop);
    expect(() => defineContract('c', { go: { request: { loop }, response: t.bool } })).toThrow(
      /go\.request\.loop\.self\[\] holds the struct it is in/,
    );
    // What was checked is what stays: the definition is frozen all the way down.
    const c = defineContract('c', { go: { request: { p: t.struct({ x: t.f64 }) }, response: t.bool } });
    expect(() => {
      (c.operations.go.request as Record<string, unknown>)['bad-name'] = t.bool;
    }).toThrow(TypeError);
  });
});
