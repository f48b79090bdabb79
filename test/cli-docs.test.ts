// `npm run docs`: TypeDoc's API reference from the types (about 5 s). typedoc.json treats a
// warning as an error, so a public type that the reference cannot show fails here. Not in the
// sanitizer run (package.json): it builds no C.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

describe('npm run docs', () => {
  it('generates the API reference from the types, the observability ones included', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cnode-api-'));
    try {
      const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
      const run = spawnSync(process.execPath, [typedoc, '--out', out], {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
      const cnode = fs.readFileSync(path.join(out, 'classes', 'CNode.html'), 'utf8');
      expect(cnode).toContain('stats');
      const stats = fs.readFileSync(path.join(out, 'interfaces', 'NodeStats.html'), 'utf8');
      for (const field of ['calls', 'errors', 'bytes', 'latency']) expect(stats).toContain(field);
      expect(fs.existsSync(path.join(out, 'interfaces', 'PoolStats.html'))).toBe(true);
      expect(fs.readFileSync(path.join(out, 'functions', 'typed.html'), 'utf8')).toContain('Client');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
