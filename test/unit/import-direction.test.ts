import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { folderCycles, importGraph, importsOf, runtimeClosure, topLevel, type ImportEdge } from '../helpers/imports.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe('import direction', () => {
  const edges = importGraph(SRC);

  test('no two top-level parts of src/ import each other, directly or around a circle', () => {
    assert.deepEqual(folderCycles(edges), []);
  });

  test('the portal loads only its own modules and pure ones of contract/ and domain/: nothing of node', () => {
    // vite.config.ts is the build's configuration, run by Node: not part of the app.
    const app = edges.filter((e) => topLevel(e.from) === 'portal' && e.from !== 'portal/vite.config.ts');
    const outside = app.filter((e) => !e.typeOnly && topLevel(e.to) !== 'portal');
    assert.deepEqual(app.filter((e) => e.to.startsWith('node:')), []);
    for (const e of outside) assert.ok(['contract', 'domain'].includes(topLevel(e.to)), `${e.from} -> ${e.to}`);
    for (const e of outside)
      for (const module of runtimeClosure(edges, e.to))
        for (const dep of edges.filter((d) => d.from === module && !d.typeOnly && d.to.startsWith('node:')))
          assert.fail(`${e.from} loads ${module}, which imports ${dep.to}: not in a browser`);
  });

  test('the domain imports no other part of src/', () => {
    assert.deepEqual(edges.filter((e) => topLevel(e.from) === 'domain' && !e.to.startsWith('node:') && topLevel(e.to) !== 'domain'), []);
  });

  test('the check itself: a back-edge between folders is found and named; a type-only import counts too', () => {
    const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly });
    const graph = [edge('http/app.ts', 'services/index.ts'), edge('services/index.ts', 'storage/db.ts'), edge('storage/db.ts', 'domain/x.ts')];
    assert.deepEqual(folderCycles(graph), []);
    assert.deepEqual(folderCycles([...graph, edge('storage/db.ts', 'http/app.ts', true)]), [
      { parts: ['http', 'services', 'storage'], edges: ['http/app.ts -> services/index.ts', 'services/index.ts -> storage/db.ts', 'storage/db.ts -> http/app.ts'] },
    ]);
    assert.deepEqual(
      importsOf(`import type { A } from './a.js';\nimport { b, type C } from '../b.js';\nexport { d } from './d.js';\nconst e = await import('./e.js');\nimport './f.js';`),
      [
        { specifier: './a.js', typeOnly: true },
        { specifier: '../b.js', typeOnly: false },
        { specifier: './d.js', typeOnly: false },
        { specifier: './f.js', typeOnly: false },
        { specifier: './e.js', typeOnly: false },
      ],
    );
  });
});
