import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Tokens saved by `keyport login`, one per server URL, in a file only its owner can read:
 * $KEYPORT_CONFIG_DIR, else $XDG_CONFIG_HOME/keyport, else ~/.config/keyport.
 */
function file(): string {
  const dir = process.env.KEYPORT_CONFIG_DIR ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'keyport');
  return join(dir, 'credentials.json');
}

interface Saved {
  token: string;
  id: string;
}

function readAll(): Record<string, Saved> {
  try {
    return JSON.parse(readFileSync(file(), 'utf8')) as Record<string, Saved>;
  } catch {
    return {};
  }
}

export function savedToken(url: string): string | undefined {
  return readAll()[new URL(url).origin]?.token;
}

export function savedEntry(url: string): Saved | undefined {
  return readAll()[new URL(url).origin];
}

export function saveToken(url: string, token: Saved | null): string {
  const all = readAll();
  if (token === null) delete all[new URL(url).origin];
  else all[new URL(url).origin] = token;
  const path = file();
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
