import { randomBytes } from 'node:crypto';

/** Object ids carry a prefix naming what they are: `acct_`, `key_`, `tok_`, ... */
export type IdPrefix = 'acct' | 'key' | 'tok' | 'op' | 'grant' | 'role' | 'aud' | 'sig' | 'svc' | 'ses' | 'wh' | 'msg' | 'evt';

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A new random id: prefix, underscore, 20 base36 characters (about 103 bits). */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += ID_ALPHABET[b % 36];
  return `${prefix}_${out}`;
}
