import type { Fields, Type } from './types.js';
import { typeName } from './types.js';

/** A value that does not match its type: where (`points[2].x`) and why. */
export class Mismatch {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {}
  toString(): string {
    return `${this.path} ${this.problem}`;
  }
}

function got(value: unknown): string {
  if (value === null) return 'nil';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a binary';
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'object') return value instanceof Map ? 'a map with keys other than strings' : 'an object';
  if (typeof value === 'string') return 'a string';
  return `a ${typeof value}`;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/**
 * Checks `value` against `type` and returns it as it travels: a struct only with its contract's
 * fields (an absent or undefined optional field left out). Both directions use it: the owner's
 * request before it is sent, and the worker's answer before the call resolves. A mismatch is
 * thrown as a Mismatch naming the first wrong value by its path.
 */
export function conform(type: Type, value: unknown, path: string): unknown {
  switch (type.kind) {
    case 'i64':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'bigint' && value >= -(2n ** 53n) && value <= 2n ** 53n) return Number(value);
      throw new Mismatch(path, `must be ${typeName(type)} (a safe integer), got ${got(value)}`);
    case 'f64':
      if (typeof value === 'number') return value;
      throw new Mismatch(path, `must be ${typeName(type)}, got ${got(value)}`);
    case 'bool':
      if (typeof value === 'boolean') return value;
      throw new Mismatch(path, `must be ${typeName(type)}, got ${got(value)}`);
    case 'string':
      if (typeof value === 'string') return value;
      throw new Mismatch(path, `must be ${typeName(type)}, got ${got(value)}`);
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      throw new Mismatch(path, `must be ${typeName(type)} (a Uint8Array), got ${got(value)}`);
    case 'array': {
      if (!Array.isArray(value)) throw new Mismatch(path, `must be ${typeName(type)}, got ${got(value)}`);
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = conform(type.of, value[i], `${path}[${i}]`);
      return out;
    }
    case 'struct':
      return conformFields(type.fields, value, path);
  }
}

/** A struct's value, checked field by field, in the contract's order. */
export function conformFields(fields: Fields, value: unknown, path: string, into: Record<string, unknown> = {}) {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array ||
    value instanceof Map
  )
    throw new Mismatch(path === '' ? 'the request' : path, `must be a map (an object), got ${got(value)}`);
  const object = value as Record<string, unknown>;
  for (const [name, field] of Object.entries(fields)) {
    const item = Object.hasOwn(object, name) ? object[name] : undefined;
    if (field.kind === 'optional') {
      if (item !== undefined && item !== null) into[name] = conform(field.of, item, join(path, name));
    } else if (item === undefined) {
      throw new Mismatch(join(path, name), `is missing (${typeName(field)})`);
    } else {
      into[name] = conform(field, item, join(path, name));
    }
  }
  return into;
}
