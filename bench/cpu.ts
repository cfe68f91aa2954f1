import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of proc(5)'s CPU times. */
const CLK_TCK = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;

/** User + system CPU time of a process so far, in microseconds: proc(5) fields 14 and 15 (utime, stime). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: the fields are counted after its closing parenthesis, where 14 and 15 are at 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1e6;
}
