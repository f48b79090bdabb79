/**
 * The contract's type vocabulary: what a field can be, on both sides of the wire. Each type
 * knows its MessagePack form (checked by the owner before sending and by the worker's generated
 * decoders) and its C form (written by `cnode gen`). `__value` is never set: it only carries the
 * TypeScript type a value of this type has, so that a client's types are inferred.
 */
export interface I64 {
  readonly kind: 'i64';
  readonly __value?: number;
}
export interface F64 {
  readonly kind: 'f64';
  readonly __value?: number;
}
export interface Bool {
  readonly kind: 'bool';
  readonly __value?: boolean;
}
export interface Str {
  readonly kind: 'string';
  readonly __value?: string;
}
export interface Bytes {
  readonly kind: 'bytes';
  readonly __value?: Uint8Array;
}
export interface ArrayOf<T extends Type> {
  readonly kind: 'array';
  readonly of: T;
  readonly __value?: Value<T>[];
}
export interface Struct<F extends Fields> {
  readonly kind: 'struct';
  readonly fields: F;
  /** Its C name after the contract's prefix, when given; else named after its first place. */
  readonly name?: string;
  readonly __value?: StructValue<F>;
}
/** A struct's field that may be absent (or nil on the wire). Only a field can be optional. */
export interface Optional<T extends Type> {
  readonly kind: 'optional';
  readonly of: T;
}

/** Every type a value can have. */
export type Type = I64 | F64 | Bool | Str | Bytes | ArrayOf<Type> | Struct<Fields>;
/** A struct's fields: each a type, or an optional one. */
export type Fields = { readonly [name: string]: Type | Optional<Type> };

/** The TypeScript type of a value of `T` (unknown for a type not known at compile time). */
export type Value<T> = Type extends T ? unknown : T extends { readonly __value?: infer V } ? V : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<F> = { [K in keyof F]: F[K] extends Optional<Type> ? never : K }[keyof F];
type OptionalKeys<F> = { [K in keyof F]: F[K] extends Optional<Type> ? K : never }[keyof F];

/** The TypeScript type of a struct with fields `F`: its optional fields may be left out. */
export type StructValue<F extends Fields> = string extends keyof F
  ? Record<string, unknown>
  : Simplify<
      { [K in RequiredKeys<F>]: Value<F[K]> } & {
        [K in OptionalKeys<F>]?: F[K] extends Optional<infer T> ? Value<T> : never;
      }
    >;

/** The vocabulary: `t.i64`, `t.array(t.string)`, `t.struct({ x: t.f64 })`, `t.optional(t.bool)`. */
export const t = {
  /** A signed 64-bit integer: int64_t in C; a number in TypeScript, a safe integer (|n| < 2^53). */
  i64: { kind: 'i64' } as I64,
  /** A 64-bit float: double in C (an integer on the wire is taken too); a number in TypeScript. */
  f64: { kind: 'f64' } as F64,
  /** bool in C, boolean in TypeScript. */
  bool: { kind: 'bool' } as Bool,
  /** A UTF-8 string: a pointer and a length in C (not NUL-terminated); a string in TypeScript. */
  string: { kind: 'string' } as Str,
  /** A binary: a pointer and a length in C; a Uint8Array (a Buffer) in TypeScript. */
  bytes: { kind: 'bytes' } as Bytes,
  /** An array of `of`: typed items and a count in C; an array in TypeScript. */
  array<T extends Type>(of: T): ArrayOf<T> {
    return { kind: 'array', of };
  },
  /**
   * A map with these string keys: a struct in C; an object in TypeScript. Used in several places
   * (a request's and a response's), it is one C struct: `struct <contract>_<name>` when named,
   * else named after the first place it is found in (`<contract>_<op>_request_<field>`).
   */
  struct<F extends Fields>(fields: F, name?: string): Struct<F> {
    return name === undefined ? { kind: 'struct', fields } : { kind: 'struct', fields, name };
  },
  /** A field that may be absent: `bool has_<name>` beside it in C; an optional property in TypeScript. */
  optional<T extends Type>(of: T): Optional<T> {
    return { kind: 'optional', of };
  },
} as const;

/** The name of a type, for messages and the docs: "int64", "array of string", "struct". @internal */
export function typeName(type: Type | Optional<Type>): string {
  switch (type.kind) {
    case 'i64':
      return 'an int64';
    case 'f64':
      return 'a float64';
    case 'bool':
      return 'a boolean';
    case 'string':
      return 'a string';
    case 'bytes':
      return 'a binary';
    case 'array':
      return 'an array';
    case 'struct':
      return 'a map';
    case 'optional':
      return typeName(type.of);
  }
}
