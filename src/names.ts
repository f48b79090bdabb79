/** The names of this process's nodes: fresh alive names, and the creation number of each name. */
const creations = new Map<string, number>();
let defaultNames = 0;

/** A fresh alive name, unique within this process and among processes on this host. */
export function uniqueAliveName(): string {
  return `cnode_${process.pid}_${++defaultNames}`;
}

/** The next creation number of `alive`: 1, 2, 3... each time it starts again in this process. */
export function nextCreation(alive: string): number {
  const creation = (creations.get(alive) ?? 0) + 1;
  creations.set(alive, creation);
  return creation;
}
