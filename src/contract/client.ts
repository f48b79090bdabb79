import type { CallOptions } from '../cnode.js';
import { CNodeError } from '../errors.js';
import { conform, conformFields, Mismatch } from './check.js';
import type { Contract, Operations, RequestOf, ResponseOf } from './define.js';

/** What a typed client calls through: a CNode, a CNodePool, a supervisor's child. */
export interface Caller {
  // biome-ignore lint/suspicious/noExplicitAny: each caller has its own options type; OptionsOf finds it
  call(message: unknown, options?: any): Promise<unknown>;
}

/** The options the caller's call() takes: CallOptions for a CNode, PoolCallOptions for a pool. */
export type OptionsOf<C extends Caller> = C extends { call(message: unknown, options?: infer P): Promise<unknown> }
  ? P
  : CallOptions;

/** A typed client: one method per operation, `api.add({ a: 1, b: 2 })`; `P` is the caller's options. */
export type Client<O extends Operations, P = CallOptions> = {
  readonly [Op in keyof O]: (request: RequestOf<O[Op]>, options?: P) => Promise<ResponseOf<O[Op]>>;
};

/**
 * How the worker's generated decoders refuse a request outside the contract: cnode_fail_code
 * with this code, and a reason that starts with "bad message: " and names the field. The typed
 * client reports such a rejection as its own ERR_CNODE_BAD_MESSAGE (the untyped call() leaves it
 * ERR_CNODE_REMOTE, with this remoteCode).
 */
export const BAD_MESSAGE_CODE = 'ERR_CNODE_BAD_MESSAGE';
const BAD_MESSAGE_REASON = 'bad message: ';

function nameOf(caller: Caller): string {
  const name = (caller as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'pool';
}

function badMessage(caller: Caller, text: string, cause?: unknown): CNodeError {
  const node = nameOf(caller);
  const { creation } = caller as { creation?: unknown }; // a CNode's, as its own errors carry
  return new CNodeError('ERR_CNODE_BAD_MESSAGE', `cnode ${node} ${text}`, {
    node,
    cause,
    ...(typeof creation === 'number' ? { creation } : {}),
  });
}

/** A rejection from the worker, as the typed client reports it: a refused message is ERR_CNODE_BAD_MESSAGE. */
function fromRemote(caller: Caller, op: string, error: unknown): unknown {
  if (!(error instanceof CNodeError) || error.code !== 'ERR_CNODE_REMOTE' || error.remoteCode !== BAD_MESSAGE_CODE)
    return error;
  const at = error.message.indexOf(BAD_MESSAGE_REASON);
  const reason = at < 0 ? error.message : error.message.slice(at + BAD_MESSAGE_REASON.length);
  return badMessage(caller, `refused the ${op} request: ${reason}`, error);
}

/**
 * A typed client for `contract` over `caller`: each operation a method whose request and
 * response types come from the contract. The request is checked before it is sent (a mismatch
 * rejects with ERR_CNODE_BAD_MESSAGE naming the field; nothing is sent), and so is the answer
 * (a worker answering outside its contract: ERR_CNODE_BAD_MESSAGE naming the response's path).
 */
export function typed<O extends Operations, C extends Caller>(
  caller: C,
  contract: Contract<O>,
): Client<O, OptionsOf<C>> {
  const client: Record<string, (request: unknown, options?: OptionsOf<C>) => Promise<unknown>> = {};
  for (const [op, operation] of Object.entries(contract.operations)) {
    client[op] = async (request, options) => {
      let message: Record<string, unknown>;
      try {
        message = conformFields(operation.request, request, '', { op });
      } catch (error) {
        if (!(error instanceof Mismatch)) throw error;
        throw badMessage(caller, `${contract.name}.${op}: ${BAD_MESSAGE_REASON}${error}; nothing was sent`);
      }
      let response: unknown;
      try {
        response = await caller.call(message, options);
      } catch (error) {
        throw fromRemote(caller, op, error);
      }
      try {
        return conform(operation.response, response, 'response');
      } catch (error) {
        if (!(error instanceof Mismatch)) throw error;
        throw badMessage(caller, `answered ${contract.name}.${op} outside its contract: ${error}`);
      }
    };
  }
  return Object.freeze(client) as Client<O, OptionsOf<C>>;
}
