import { createHash } from 'node:crypto';
import type { Environment, KeyKind } from '../src/domain/environment.js';
import { newId } from '../src/domain/ids.js';
import type { Account, KeyRecord } from '../src/domain/model.js';
import { DEFAULT_SETTINGS } from '../src/domain/settings.js';
import { newKeyRecord } from '../src/domain/key-rules.js';
import { generateKeyString, hashKeyString } from '../src/domain/key-strings.js';
import { sql } from 'kysely';
import { openStorage, type StorageOptions } from '../src/storage/database.js';
import { Store } from '../src/storage/repositories.js';

/** What the bench drives: a token key, a client id and secret, and the account holding many keys. */
export interface Seeded {
  tokenKey: string;
  clientId: string;
  clientSecret: string;
  bigAccount: string;
  total: number;
  /** The token keys outside the big account, all valid: the working set of the valid-key-at-random row. */
  workingSet: string[];
}

const WORDS = ['ERP', 'Shop', 'Mobile', 'POS', 'Sync', 'Import', 'Export', 'Analytics', 'Marketplace', 'Billing', 'Search', 'Feed'];
const YEAR = 365 * 86_400_000;

/**
 * Fills an empty store (a SQLite data directory, or a PostgreSQL database) through the repository
 * layer, in one transaction: `total` keys, of which `bigAccountKeys` in one account and the rest in
 * accounts of 100 keys each. The big account's filler keys (what the listings read) get well-formed
 * unique hashes and client ids (their secrets are never needed); the keys of the other accounts are
 * real, valid token keys, returned as the working set; the few keys the bench uses otherwise are
 * made like real ones.
 */
export async function seed(where: string | StorageOptions, total: number, bigAccountKeys: number, now: number): Promise<Seeded> {
  const storage = await openStorage(typeof where === 'string' ? { kind: 'sqlite', dataDir: where } : where);
  // A page cache big enough for the indexes: random inserts into the hash indexes otherwise
  // evict each other's pages and the seeding takes several times longer.
  if (storage.dialect === 'sqlite') await sql`pragma cache_size = -1048576`.execute(storage.db);
  const workingSet: string[] = [];
  const store = new Store(storage);
  const account = (name: string): Account => ({ id: newId('acct'), name, eligible: true, settings: structuredClone(DEFAULT_SETTINGS), createdAt: now - YEAR, updatedAt: now - YEAR });
  const big = account('Big marketplace');
  const smallCount = Math.max(1, Math.ceil((total - bigAccountKeys) / 100));
  const accounts = [big, ...Array.from({ length: smallCount }, (_, i) => account(`Shop ${i}`))];

  const filler = (accountId: string, i: number): KeyRecord => {
    const environment: Environment = i % 2 === 0 ? 'production' : 'sandbox';
    const kind: KeyKind = i % 10 === 0 ? 'admin' : i % 10 === 1 ? 'storefront' : 'custom';
    const clientSecret = i % 5 !== 0;
    const createdAt = now - YEAR + Math.floor((i / total) * YEAR);
    const label = environment === 'production' ? 'live' : 'test';
    const unique = i.toString(36).padStart(8, '0');
    if (i >= bigAccountKeys) {
      // A real token key: its string is kept so the bench can send it.
      const secret = generateKeyString('token', environment);
      workingSet.push(secret);
      return { ...base(accountId, i, environment, kind, unique, createdAt), credentialType: 'token', clientId: null, secretHash: hashKeyString(secret), active: true };
    }
    return base(accountId, i, environment, kind, unique, createdAt, clientSecret ? `kpid_${label}_${unique.padStart(39, 'x')}` : null, clientSecret);
  };
  const base = (accountId: string, i: number, environment: Environment, kind: KeyKind, unique: string, createdAt: number, clientId: string | null = null, clientSecret = false): KeyRecord => {
    return {
      id: `key_${unique}${'0'.repeat(12)}`,
      accountId,
      name: `${WORDS[i % WORDS.length]} ${WORDS[(i >> 4) % WORDS.length]} integration ${i}`,
      environment,
      kind,
      credentialType: clientSecret ? 'client_secret' : 'token',
      clientId,
      secretHash: createHash('sha256').update(`seed-${i}`).digest('hex'),
      secretEncrypted: null,
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      scopes: kind === 'custom' ? ['product.read', 'order.read'] : [],
      roles: [],
      channel: i % 7 === 0 ? 'b2b' : null,
      active: i % 5 !== 4,
      expiresAt: null,
      createdAt,
      updatedAt: createdAt,
      lastUsedAt: null,
      createdBy: 'tok_seed',
      rateLimit: null,
      ipAllowlist: null,
      credits: null,
      meta: null,
      externalId: null,
      leak: null,
    };
  };

  const real = (type: 'token' | 'client_secret') =>
    newKeyRecord({
      accountId: accounts[1]!.id,
      name: `Bench ${type}`,
      environment: 'production',
      kind: 'custom',
      credentialType: type,
      scopes: ['product.read', 'order.read'],
      roles: [{ definition: 'pricing', level: 'viewer' }],
      channel: 'b2b',
      active: true,
      expiresAt: null,
      createdBy: 'tok_seed',
      now,
      withSecret: true,
    });
  const token = real('token');
  const client = real('client_secret');

  await store.transaction(async (repos) => {
    for (const a of accounts) await repos.accounts.insert(a);
    const chunk: KeyRecord[] = [];
    for (let i = 0; i < total - 2; i++) {
      const accountId = i < bigAccountKeys ? big.id : accounts[1 + Math.floor((i - bigAccountKeys) / 100)]!.id;
      chunk.push(filler(accountId, i));
      if (chunk.length === 10_000) await repos.keys.insertMany(chunk.splice(0));
    }
    await repos.keys.insertMany([...chunk, token.record, client.record]);
  });
  await storage.close();
  return { tokenKey: token.secret!, clientId: client.record.clientId!, clientSecret: client.secret!, bigAccount: big.id, total, workingSet };
}
