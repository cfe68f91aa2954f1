// What a bench module exports (bench/<topic>.ts, listed in EXTRA_SECTIONS of bench/run.ts): a
// section of BENCHMARKS.md of its own, measured after the main table, once the main table's
// servers have stopped.
export interface BenchSection {
  /** The section's heading in BENCHMARKS.md. */
  title: string;
  /** Measures and returns the section's body (markdown). `seconds` per measurement, `rounds` of them. */
  run(opts: { seconds: number; rounds: number }): Promise<string>;
}
