/** Output for people (aligned tables, key: value blocks) and for scripts (--json). */

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** An aligned table of the given columns; cells are stringified, null shows as '-'. */
export function printTable(rows: Record<string, unknown>[], columns: { key: string; label: string }[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') || '-' : String(v));
  const widths = columns.map((c) => Math.max(c.label.length, ...rows.map((r) => cell(r[c.key]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(
    [line(columns.map((c) => c.label.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c.key]))))].join('\n') + '\n',
  );
}

/** A block of "label: value" lines. */
export function printFields(fields: [string, unknown][]): void {
  const width = Math.max(...fields.map(([l]) => l.length));
  for (const [label, value] of fields) {
    const text = value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    process.stdout.write(`${`${label}:`.padEnd(width + 1)} ${text}\n`);
  }
}
