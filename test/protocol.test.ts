// The protocol's numbers agree everywhere they are written (src/protocol.ts, at its top): the C
// library's are compiled here, printed as JSON and compared with src/protocol.ts name by name,
// both ways, and the frame kinds with the table of docs/protocol.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as protocol from '../src/protocol.js';
import { root } from './helpers.js';

/** FrameKind.SomeThing for CNODE_FRAME_SOME_THING, X for CNODE_X. */
function typescriptName(cName: string): string {
  const kind = /^CNODE_FRAME_(\w+)$/.exec(cName);
  if (!kind) return cName.replace(/^CNODE_/, '');
  return `FrameKind.${kind[1].toLowerCase().replace(/(?:^|_)([a-z])/g, (_, letter: string) => letter.toUpperCase())}`;
}

/** SOME_THING for SomeThing: a frame kind's name in C and in docs/protocol.md. */
function upperName(kind: string): string {
  return kind.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase();
}

/**
 * What the C side must have, by TypeScript name: a C expression for each. Every #define with a
 * value and every frame kind of cnode/src/protocol.h, the protocol version from the public
 * header, and the two limits that are msgpack-c's.
 */
function cExpressions(): Record<string, string> {
  const text = fs.readFileSync(path.join(root, 'cnode/src/protocol.h'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const kinds = /enum cnode_frame_kind\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
  const names = [
    ...[...text.matchAll(/^#define (CNODE_\w+)[ \t]+\S/gm)].map((match) => match[1]), // not the include guard
    ...[...kinds.matchAll(/\bCNODE_FRAME_\w+/g)].map((match) => match[0]), // with or without `= n`
    'CNODE_PROTOCOL_VERSION', // cnode/include/cnode.h: cnode_version() users see it too
  ];
  return {
    ...Object.fromEntries(names.map((name) => [typescriptName(name), name])),
    // msgpack-c's unpacker has a stack of this many levels of arrays and maps; the frame takes one.
    MAX_DEPTH: 'MSGPACK_EMBED_STACK_SIZE - 1',
    // The largest size a BIN object can have: what a shared view becomes in a C handler.
    MAX_SHARED_VIEW: '(__typeof__(((msgpack_object_bin *)0)->size))-1',
  };
}

/** The values of `expressions`, by a C program compiled against the C library's headers. */
function cValues(expressions: Record<string, string>): Record<string, number> {
  const entries = Object.entries(expressions);
  const source = [
    '#include <stdio.h>',
    '#include <msgpack/unpack_define.h>',
    '#include "cnode.h"',
    '#include "protocol.h"',
    'int main(void) {',
    ...entries.map(
      ([name, expression], i) =>
        `    printf("${i === 0 ? '{' : ', '}\\"${name}\\": %lld", (long long)(${expression}));`,
    ),
    '    puts("}");',
    '    return 0;',
    '}',
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-protocol-'));
  try {
    fs.writeFileSync(path.join(dir, 'constants.c'), source);
    let msgpackFlags: string[] = []; // as CMakeLists.txt finds msgpack-c; none needed on Debian
    try {
      msgpackFlags = execFileSync('pkg-config', ['--cflags', 'msgpack'], { encoding: 'utf8' })
        .trim()
        .split(/\s+/)
        .filter(Boolean);
    } catch {
      // no pkg-config module: the compiler's default paths
    }
    const include = ['cnode/include', 'cnode/src'].map((dir) => `-I${path.join(root, dir)}`);
    execFileSync(
      process.env.CC ?? 'cc',
      ['-std=c11', '-Wall', '-Werror', ...include, ...msgpackFlags, 'constants.c', '-o', 'constants'],
      { cwd: dir, encoding: 'utf8' },
    );
    return JSON.parse(execFileSync(path.join(dir, 'constants'), { encoding: 'utf8' })) as Record<string, number>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every number src/protocol.ts exports, the frame kinds as FrameKind.Hello and so on. */
function typescriptValues(): Record<string, number> {
  const values: Record<string, number> = {};
  for (const [name, value] of Object.entries(protocol)) {
    if (typeof value === 'number') values[name] = value;
    else if (typeof value === 'object' && value !== null)
      for (const [key, n] of Object.entries(value)) values[`${name}.${key}`] = n as number;
  }
  return values;
}

let c: Record<string, number> = {};
const typescript = typescriptValues();

beforeAll(() => {
  c = cValues(cExpressions());
});

describe('the protocol numbers of the C library and of src/protocol.ts', () => {
  it('have the same names', () => {
    expect(
      Object.keys(c).filter((name) => !(name in typescript)),
      'in cnode/src/protocol.h but not in src/protocol.ts',
    ).toEqual([]);
    expect(
      Object.keys(typescript).filter((name) => !(name in c)),
      'in src/protocol.ts but not in cnode/src/protocol.h',
    ).toEqual([]);
    expect(Object.keys(c)).toContain('FrameKind.Hello'); // the header was read
  });

  it('have the same values', () => {
    expect(typescript).toEqual(c);
  });
});

describe('the frame kinds', () => {
  it('are distinct', () => {
    const kinds = Object.values(protocol.FrameKind);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it('are the table of docs/protocol.md, which names the protocol version', () => {
    const docs = fs.readFileSync(path.join(root, 'docs/protocol.md'), 'utf8');
    expect(/^# The cnode wire protocol, version (\d+)$/m.exec(docs)?.[1]).toBe(String(protocol.PROTOCOL_VERSION));
    const table = Object.fromEntries(
      [...docs.matchAll(/^\| (\d+) \| ([A-Z_]+) \|/gm)].map((row) => [row[2], Number(row[1])]),
    );
    expect(table).toEqual(
      Object.fromEntries(Object.entries(protocol.FrameKind).map(([kind, n]) => [upperName(kind), n])),
    );
  });
});
