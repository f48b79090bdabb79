// calc.contract.js: the README's quick start. One definition of the worker's protocol: the owner
// gets a typed client from it (typed(node, calc)), the worker its C header (npx cnode gen).
import { defineContract, t } from 'cnode';

export const calc = defineContract('calc', {
  add: { request: { a: t.i64, b: t.i64 }, response: t.i64 },
  mean: { request: { values: t.array(t.f64) }, response: t.struct({ mean: t.f64, count: t.i64 }) },
});
