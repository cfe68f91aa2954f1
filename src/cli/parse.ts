import { InvalidArgumentError } from 'commander';
import { CliError } from './client.js';
import { ACCESS_LEVELS, type RoleAssignment } from '../domain/catalog.js';

/** Option parsers: a bad value is refused by commander with the option named, before any request. */

export function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

export function boolean(value: string): boolean {
  if (['true', 'yes', 'on', '1'].includes(value.toLowerCase())) return true;
  if (['false', 'no', 'off', '0'].includes(value.toLowerCase())) return false;
  throw new InvalidArgumentError('must be true or false.');
}

export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `definition:level`, repeatable: collects into an array. */
export function role(value: string, previous: RoleAssignment[] = []): RoleAssignment[] {
  const [definition, level, extra] = value.split(':');
  if (!definition || !level || extra !== undefined || !(ACCESS_LEVELS as readonly string[]).includes(level))
    throw new InvalidArgumentError(`must be <definition>:<${ACCESS_LEVELS.join('|')}>, e.g. product_data:editor.`);
  return [...previous, { definition, level: level as RoleAssignment['level'] }];
}

export function dateTime(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError('must be an ISO 8601 date or date-time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z.');
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : new Date(value).toISOString();
}

/** Refuses an irreversible action unless --yes was given. */
export function requireYes(opts: { yes?: boolean }, what: string): void {
  if (!opts.yes) throw new CliError(`${what} cannot be undone: add --yes to go ahead.`, 2);
}
