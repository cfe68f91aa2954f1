import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The import graph of a source tree, read from the files themselves: every `import ... from`,
 * `export ... from` and `import('...')` with a relative specifier, and whether it is type-only
 * (erased when compiled). A scanner of our own: dependency-cruiser and madge read TypeScript
 * through the `typescript` package's compiler API, which the native TypeScript 7 compiler this
 * repository uses does not ship, so they see no TypeScript module at all.
 */
export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative imports of one file's text; specifiers as written. */
export function importsOf(text: string): { specifier: string; typeOnly: boolean }[] {
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(STATIC)) found.push({ specifier: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(DYNAMIC)) found.push({ specifier: m[1]!, typeOnly: false });
  return found;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Resolves `./x.js` to the `.ts` or `.tsx` file beside it (or `./x` to `x.ts`, `x/index.ts`). */
function resolveSpecifier(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier).replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* try the next */
    }
  }
  return null;
}

/** Every relative import under `root`, paths relative to `root`; node built-ins listed as `node:...`. */
export function importGraph(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files(root)) {
    for (const { specifier, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
      const from = relative(root, file);
      if (specifier.startsWith('node:')) edges.push({ from, to: specifier, typeOnly });
      else if (specifier.startsWith('.') && /\.(css|svg|png)$/.test(specifier)) continue;
      else if (specifier.startsWith('.')) {
        const target = resolveSpecifier(file, specifier);
        if (target === null) throw new Error(`${from}: cannot resolve '${specifier}'`);
        edges.push({ from, to: relative(root, target), typeOnly });
      }
    }
  }
  return edges;
}

/** The top-level part of `src/` a path belongs to: its first folder, or the file itself. */
export const topLevel = (path: string) => path.split('/')[0]!;

/**
 * Groups of top-level parts that import each other in a circle (strongly connected components of
 * more than one part, Tarjan's algorithm), each with the edges that close it.
 */
export function folderCycles(edges: readonly ImportEdge[]): { parts: string[]; edges: string[] }[] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.to.startsWith('node:')) continue;
    const [a, b] = [topLevel(e.from), topLevel(e.to)];
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    if (a !== b) graph.get(a)!.add(b);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components.map((parts) => ({
    parts,
    edges: edges.filter((e) => parts.includes(topLevel(e.from)) && parts.includes(topLevel(e.to)) && topLevel(e.from) !== topLevel(e.to)).map((e) => `${e.from} -> ${e.to}`),
  }));
}

/** The modules `start` loads when it runs (type-only imports are erased), itself included. */
export function runtimeClosure(edges: readonly ImportEdge[], start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const e of edges) if (e.from === file && !e.typeOnly) todo.push(e.to);
  }
  return seen;
}
