import { CNodeError, showValue } from '../errors.js';
import type { Fields, Optional, StructValue, Type, Value } from './types.js';

/** One operation: the request's fields (the wire map has `op` besides them) and the response's type. */
export interface Operation {
  readonly request: Fields;
  readonly response: Type;
}
export type Operations = { readonly [op: string]: Operation };

/** What defineContract returns: the name (the C prefix) and the operations, as written. */
export interface Contract<O extends Operations = Operations> {
  readonly name: string;
  readonly operations: O;
  readonly [CONTRACT]: true;
}

/** The request an operation takes, as TypeScript sees it. */
export type RequestOf<Op extends Operation> = StructValue<Op['request']>;
/** The response an operation resolves with, as TypeScript sees it. */
export type ResponseOf<Op extends Operation> = Value<Op['response']>;

/** Marks a contract, across copies of the library (a contract file may import dist/, a test src/). */
export const CONTRACT: unique symbol = Symbol.for('cnode.contract') as never;

// Names become C identifiers: `<contract>_<op>_request`, `bool has_<field>`.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// What the header cannot use as a name, in C17 with GNU extensions, C23, or included from C++:
// the keywords, and the macros a system header or gcc's gnu17 defines. Names starting with `_` or
// holding `__` are reserved to the implementation, and are refused apart from this list.
const RESERVED = new Set(
  (
    'auto break case char const continue default do double else enum extern float for goto if inline int long ' +
    'register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while ' +
    'bool true false alignas alignof constexpr nullptr static_assert thread_local typeof typeof_unqual asm ' +
    'and and_eq bitand bitor catch char8_t char16_t char32_t class compl concept consteval constinit const_cast ' +
    'co_await co_return co_yield decltype delete dynamic_cast explicit export friend mutable namespace new ' +
    'noexcept not not_eq operator or or_eq private protected public reinterpret_cast requires static_cast ' +
    'template this throw try typeid typename using virtual wchar_t xor xor_eq ' +
    'unix linux i386 errno NULL EOF stdin stdout stderr assert offsetof complex imaginary noreturn'
  ).split(' '),
);

function fail(text: string): never {
  throw new CNodeError('ERR_CNODE_INVALID_OPTION', `cnode contract: ${text}`);
}

function checkName(what: string, name: string): void {
  if (!IDENTIFIER.test(name) || RESERVED.has(name) || name.startsWith('_') || name.includes('__'))
    fail(
      `${what} must be a C identifier that is not a C or C++ keyword nor reserved (no leading _, no __), got ${showValue(name)}`,
    );
}

function checkType(path: string, type: unknown, optionalAllowed: boolean, within: Set<unknown> = new Set()): void {
  const kind = (type as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case 'i64':
    case 'f64':
    case 'bool':
    case 'string':
    case 'bytes':
      return;
    case 'array':
      checkType(`${path}[]`, (type as { of: unknown }).of, false, within);
      Object.freeze(type);
      return;
    case 'struct': {
      const { name } = type as { name?: string };
      if (name !== undefined) {
        checkName(`${path}'s struct name`, name);
        // The header's own names: struct <c>_handlers, struct <c>_array_<item>.
        if (name === 'handlers' || name.startsWith('array_'))
          fail(`${path}'s struct name ${showValue(name)} is taken by the C header (handlers, array_...)`);
      }
      // A struct inside itself would be an infinite C struct, and an endless walk here.
      if (within.has(type)) fail(`${path} holds the struct it is in: a contract's types cannot be recursive`);
      within.add(type);
      checkFields(path, (type as { fields: unknown }).fields, within);
      within.delete(type);
      Object.freeze(type);
      return;
    }
    case 'optional':
      if (!optionalAllowed) fail(`${path}: only a struct's field can be optional`);
      checkType(path, (type as Optional<Type>).of, false, within);
      Object.freeze(type);
      return;
    default:
      fail(`${path} must be a type of the vocabulary (t.i64, t.string, t.array(...), ...), got ${showValue(type)}`);
  }
}

/** Checks a struct's fields, and freezes them: what was checked is what the C header and the client see. */
function checkFields(path: string, fields: unknown, within?: Set<unknown>): void {
  if (typeof fields !== 'object' || fields === null)
    fail(`${path} must be an object of fields, got ${showValue(fields)}`);
  for (const [name, type] of Object.entries(fields)) {
    checkName(`${path}'s field name`, name);
    // An optional field x has `bool has_x` beside it in C.
    if (name.startsWith('has_') && (fields as Fields)[name.slice(4)]?.kind === 'optional')
      fail(`${path}'s field ${name} would clash with the optional ${name.slice(4)}'s has_${name.slice(4)} in C`);
    checkType(`${path}.${name}`, type, true, within);
  }
  Object.freeze(fields);
}

/**
 * Defines a worker's protocol once: `name` becomes the C prefix (`calc_dispatch`), each operation
 * a message `{ op: "<name>", ...request }` answered by its response. Pass it to `typed(node,
 * contract)` for a typed client, and to `npx cnode gen` for the worker's C header.
 */
export function defineContract<const O extends Operations>(name: string, operations: O): Contract<O> {
  checkName('the contract name', name);
  // cnode.h's own names (struct cnode_array, cnode_t) and the header's shared part (cnode_contract_*).
  if (name === 'cnode' || name.startsWith('cnode_'))
    fail(`the contract name ${showValue(name)} would clash with cnode.h's names: cnode and cnode_... are taken`);
  if (typeof operations !== 'object' || operations === null || Object.keys(operations).length === 0)
    fail(`contract ${name} needs at least one operation, got ${showValue(operations)}`);
  for (const [op, operation] of Object.entries(operations)) {
    checkName(`contract ${name}'s operation name`, op);
    // struct <c>_handlers has one slot per operation beside its `user` pointer.
    if (op === 'user')
      fail(`contract ${name}'s operation name "user" is taken by struct ${name}_handlers' user pointer`);
    if (typeof operation !== 'object' || operation === null)
      fail(`${op} must be { request, response }, got ${showValue(operation)}`);
    checkFields(`${op}.request`, operation.request);
    if ('op' in operation.request) fail(`${op}.request cannot have a field named op: the wire map uses it`);
    checkType(`${op}.response`, operation.response, false);
    Object.freeze(operation);
  }
  return Object.freeze({ name, operations: Object.freeze(operations), [CONTRACT]: true as const });
}

export function isContract(value: unknown): value is Contract {
  return typeof value === 'object' && value !== null && (value as { [CONTRACT]?: unknown })[CONTRACT] === true;
}
