export { type Caller, type Client, type OptionsOf, typed } from './client.js';
export {
  type Contract,
  defineContract,
  type Operation,
  type Operations,
  type RequestOf,
  type ResponseOf,
} from './define.js';
export type {
  ArrayOf,
  Bool,
  Bytes,
  F64,
  Fields,
  I64,
  Optional,
  Str,
  Struct,
  StructValue,
  Type,
  Value,
} from './types.js';
export { t } from './types.js';
