import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Clock } from '../../domain/clock.js';
import type { Keyring } from '../../domain/envelope.js';
import { newId } from '../../domain/ids.js';
import type { Actor } from '../../domain/principal.js';
import { SETTING_BOUNDS } from '../../domain/settings.js';
import { signingKeysChangedEvent } from '../change-events.js';
import type { Outbox } from '../outbox.js';
import type { SigningKeyRecord } from '../../storage/oauth-repositories.js';
import type { Repositories, Store } from '../../storage/repositories.js';
import { JwsSigner, type JwsAlg } from '../../oauth/jwt.js';

/**
 * JWS algorithm of new signing keys: ES256 (ECDSA on P-256, RFC 7518 3.4). Every JWT library
 * supports it, and with Node's OpenSSL it signs and verifies faster than Ed25519 (measured: about
 * 45 against 50 µs to sign, 90 against 150 µs to verify). Keys made as EdDSA still verify.
 */
export const SIGNING_ALG: JwsAlg = 'ES256';

/** The longest an access token can live: the upper bound of the accessTokenTtl setting. */
export const MAX_TOKEN_TTL_MS = SETTING_BOUNDS.accessTokenTtl.max * 1000;

/** Extra time a retired key stays published: clock skew, and nodes still signing until they poll. */
const PUBLISH_MARGIN_MS = 5 * 60_000;

/** A public signing key as a JWK (RFC 7517/7518; RFC 8037 for Ed25519), as /.well-known/jwks.json shows it. */
export type PublicJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };

/** A signing key as the management API shows it: never any private material. */
export interface SigningKeyInfo {
  kid: string;
  alg: string;
  /**
   * `next`: published, not signing yet; `current`: signing; `retired`: published until its tokens
   * expire; `withdrawn`: unpublished after a suspected compromise, its tokens refused.
   */
  status: 'next' | 'current' | 'retired' | 'withdrawn';
  createdAt: number;
  activatesAt: number;
  /** When a newer key took over signing; null while none has. */
  retiredAt: number | null;
  /** Until when the public key stays in the JWKS; null while it signs or waits to. */
  publishedUntil: number | null;
  /** When it was withdrawn; null unless it was. */
  withdrawnAt: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A signing key's state as the management API and the audit log show it, with ISO 8601 times. */
export function signingKeyView(k: SigningKeyInfo) {
  return {
    kid: k.kid,
    alg: k.alg,
    status: k.status,
    createdAt: iso(k.createdAt),
    activatesAt: iso(k.activatesAt),
    retiredAt: iso(k.retiredAt),
    publishedUntil: iso(k.publishedUntil),
    withdrawnAt: iso(k.withdrawnAt),
  };
}

/** Another node changed the signing keys first (took the generation, withdrew the key): the transaction is given up and the state read again. */
class Superseded extends Error {}

interface LoadedKey {
  record: SigningKeyRecord;
  alg: JwsAlg;
  jwk: PublicJwk;
  publicKey: KeyObject;
  privateKey: KeyObject;
  /** Signs access tokens (typ at+jwt) with this key. */
  signer: JwsSigner;
}

export interface SigningKeyOptions {
  /** Rotate when the newest key is this old (ms); 0 never rotates on a schedule. */
  rotationIntervalMs: number;
  /** How long a new key is published before nodes sign with it (ms), so JWKS caches pick it up. */
  prepublishMs: number;
}

/**
 * The signing keys of access tokens: their store, the JWKS, and rotation.
 *
 * Rotation adds a key of the next generation that starts signing `prepublishMs` later; meanwhile it
 * is published, so resource servers caching the JWKS learn it before any token uses it. A key stops
 * signing when a newer generation activates and stays published until every token it can have
 * signed has expired (the longest token lifetime, plus a margin). Every node derives all this from
 * the stored rows and the clock, so nodes agree without talking; the unique generation number makes
 * sure that when two nodes rotate at once, only one key is added. Every addition and withdrawal
 * commits with its cluster event (and, when someone asked for it, its audit entry) through the Outbox.
 */
export class SigningKeys {
  /** Newest generation first. */
  private keys: LoadedKey[] = [];
  private readonly byId = new Map<string, LoadedKey>();
  /** The kids of withdrawn keys: their tokens are refused even where a verification is cached. */
  private withdrawn: ReadonlySet<string> = new Set();
  private lastUnknownKidReload = 0;

  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
    private readonly clock: Clock,
    readonly options: SigningKeyOptions,
    private readonly outbox: Outbox,
  ) {}

  /** Reads every key from the store and decrypts the private halves. */
  async load(): Promise<void> {
    const records = await this.store.repos.signingKeys.list();
    // Decrypting and parsing keys is done once per key; the row is re-read (it may have been withdrawn).
    const loaded = records.map((record) => {
      const known = this.byId.get(record.id);
      return known === undefined ? this.decode(record) : { ...known, record };
    });
    this.keys = loaded;
    this.byId.clear();
    for (const key of loaded) this.byId.set(key.record.id, key);
    this.withdrawn = new Set(loaded.filter((k) => k.record.withdrawnAt !== null).map((k) => k.record.id));
  }

  /** Loads the keys and makes the first one when the store has none (first start). */
  async ensure(): Promise<void> {
    await this.load();
    if (this.keys.length === 0) {
      await this.addKey(1, this.clock.now()).catch((err) => {
        if (!(err instanceof Superseded)) throw err;
      });
      await this.load();
    }
  }

  private decode(record: SigningKeyRecord): LoadedKey {
    const privateKey = createPrivateKey(this.keyring.decryptText(record.privateKey));
    const alg = record.alg as JwsAlg;
    const signer = new JwsSigner({ alg, typ: 'at+jwt', kid: record.id }, privateKey);
    return { record, alg, jwk: JSON.parse(record.publicJwk) as PublicJwk, publicKey: createPublicKey(privateKey), privateKey, signer };
  }

  /** Makes a key pair and stores it (private half encrypted) in `repos`' transaction; Superseded if another node took the generation. */
  private async add(repos: Repositories, generation: number, activatesAt: number): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = newId('sig');
    const { x, y } = publicKey.export({ format: 'jwk' });
    const jwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: x!, y: y!, kid: id, alg: 'ES256', use: 'sig' };
    const record: SigningKeyRecord = {
      id,
      generation,
      alg: SIGNING_ALG,
      publicJwk: JSON.stringify(jwk),
      privateKey: this.keyring.encrypt(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string),
      createdAt: this.clock.now(),
      activatesAt,
      withdrawnAt: null,
    };
    if (!(await repos.signingKeys.insertGeneration(record))) throw new Superseded();
    return record;
  }

  /**
   * Adds a key of `generation` with its event, and an audit entry when an actor asked for it;
   * Superseded when another node was first. Returns the new key's state.
   */
  private async addKey(generation: number, activatesAt: number, actor?: Actor): Promise<SigningKeyInfo> {
    return this.store.transaction(async (repos) => {
      const record = await this.add(repos, generation, activatesAt);
      const now = this.clock.now();
      const info = describeKeys([record, ...this.keys.map((k) => k.record)], now)[0]!;
      await this.outbox.record(repos, {
        audit: actor === undefined ? undefined : { actor, entry: { accountId: null, action: 'signing_key.rotate', targetId: record.id, after: signingKeyView(info) } },
        events: [signingKeysChangedEvent(record.id, 'rotated', now)],
      });
      return info;
    });
  }

  /** The signer of the key to sign with now: the newest generation that has activated. */
  currentSigner(): JwsSigner {
    const key = this.signing(this.clock.now());
    if (key === undefined) throw new Error('no signing key loaded');
    return key.signer;
  }

  /** The key signing now (see signingRecord). */
  private signing(now: number): LoadedKey | undefined {
    const record = signingRecord(this.records(), now);
    return record === undefined ? undefined : this.byId.get(record.id);
  }

  private records(): SigningKeyRecord[] {
    return this.keys.map((k) => k.record);
  }

  /** Was the key `kid` withdrawn? Tokens naming it are revoked. */
  isWithdrawn(kid: string): boolean {
    return this.withdrawn.size !== 0 && this.withdrawn.has(kid);
  }

  /** The public key for `kid` and its algorithm, while it is published; undefined otherwise. */
  publicKey(kid: string): { key: KeyObject; alg: JwsAlg } | undefined {
    const key = this.byId.get(kid);
    if (!key) return undefined;
    const until = publishedUntil(this.records(), this.keys.indexOf(key), this.clock.now());
    return until === null || until > this.clock.now() ? { key: key.publicKey, alg: key.alg } : undefined;
  }

  /**
   * Reloads at most once a second when a token names a key this node does not know (another node
   * rotated with immediate effect, and this one has not polled yet). True when it reloaded.
   */
  async reloadForUnknownKid(): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastUnknownKidReload < 1000) return false;
    this.lastUnknownKidReload = now;
    await this.load();
    return true;
  }

  /** The JWK Set (RFC 7517) of every published key, newest first. */
  jwks(): { keys: PublicJwk[] } {
    const now = this.clock.now();
    const records = this.records();
    return { keys: this.keys.filter((_, i) => (publishedUntil(records, i, now) ?? Infinity) > now).map((k) => k.jwk) };
  }

  /** Every stored key with its state, newest first. */
  list(): SigningKeyInfo[] {
    return describeKeys(this.records(), this.clock.now());
  }

  /**
   * Adds a key of the next generation. It signs after the pre-publication delay, or at once with
   * `immediately` (after a suspected compromise; resource servers then refetch the JWKS on the
   * unknown `kid`). With `actor`, the rotation is audited in the platform's log. Returns the new
   * key (after three collisions with other nodes rotating at once, the newest key).
   */
  async rotate(options: { immediately?: boolean } = {}, actor?: Actor): Promise<SigningKeyInfo> {
    for (let attempt = 0; ; attempt++) {
      await this.load();
      const generation = (this.keys[0]?.record.generation ?? 0) + 1;
      const now = this.clock.now();
      try {
        const info = await this.addKey(generation, options.immediately ? now : now + this.options.prepublishMs, actor);
        await this.load();
        return this.list().find((k) => k.kid === info.kid) ?? info;
      } catch (err) {
        if (!(err instanceof Superseded)) throw err;
        if (attempt === 2) {
          await this.load();
          return this.list()[0]!;
        }
      }
    }
  }

  /**
   * Withdraws the key `kid` after a suspected compromise: it leaves the JWKS at once, every node
   * refuses the tokens it signed (`revoked`), and it never signs again. When it is the key signing
   * now, a new key is added in the same transaction and signs at once. With `actor`, the withdrawal
   * is audited. Returns the key's state before (read from the store, so a withdrawal by another
   * node counts) and after; undefined when there is no such key. A key already withdrawn stays as it is.
   */
  async withdraw(kid: string, actor?: Actor): Promise<{ before: SigningKeyInfo; after: SigningKeyInfo } | undefined> {
    for (let attempt = 0; ; attempt++) {
      await this.load();
      const key = this.byId.get(kid);
      if (key === undefined) return undefined;
      const before = this.list().find((k) => k.kid === kid)!;
      if (key.record.withdrawnAt !== null) return { before, after: before };
      try {
        await this.store.transaction(async (repos) => {
          const now = this.clock.now();
          let records = this.records();
          // The key signing now goes: a new one, signing at once, takes over in the same commit.
          if (signingRecord(records, now)?.id === kid) records = [await this.add(repos, (records[0]?.generation ?? 0) + 1, now), ...records];
          if (!(await repos.signingKeys.withdraw(kid, now))) throw new Superseded();
          records = records.map((r) => (r.id === kid ? { ...r, withdrawnAt: now } : r));
          const after = describeKeys(records, now).find((k) => k.kid === kid)!;
          await this.outbox.record(repos, {
            audit: actor === undefined ? undefined : { actor, entry: { accountId: null, action: 'signing_key.withdraw', targetId: kid, before: signingKeyView(before), after: signingKeyView(after) } },
            events: [signingKeysChangedEvent(kid, 'withdrawn', now)],
          });
        });
      } catch (err) {
        if (!(err instanceof Superseded) || attempt === 2) throw err;
        continue;
      }
      await this.load();
      return { before, after: this.list().find((k) => k.kid === kid)! };
    }
  }

  /**
   * The scheduled rotation: when the newest key is older than the rotation interval, rotate. Every
   * node checks; the unique generation lets one win, and the others learn of it from the event log.
   */
  async rotateIfDue(): Promise<boolean> {
    const newest = this.keys[0];
    if (this.options.rotationIntervalMs <= 0 || !newest) return false;
    if (newest.record.createdAt + this.options.rotationIntervalMs > this.clock.now()) return false;
    let added = true;
    await this.addKey(newest.record.generation + 1, this.clock.now() + this.options.prepublishMs).catch((err) => {
      if (!(err instanceof Superseded)) throw err;
      added = false;
    });
    await this.load();
    return added;
  }

  /** Deletes keys that are no longer published: no unexpired token can carry their `kid`. */
  async purge(): Promise<void> {
    const now = this.clock.now();
    const records = this.records();
    const gone = this.keys.filter((_, i) => (keptUntil(records, i, now) ?? Infinity) <= now).map((k) => k.record.id);
    if (gone.length === 0) return;
    await this.store.repos.signingKeys.deleteMany(gone);
    await this.load();
  }
}

/**
 * The key to sign with at `now` among `records` (newest generation first): the newest that has
 * activated and is not withdrawn (withdrawing the signing key adds a new one first); before any has
 * activated, the oldest.
 */
function signingRecord(records: readonly SigningKeyRecord[], now: number): SigningKeyRecord | undefined {
  let oldest: SigningKeyRecord | undefined;
  for (const record of records) {
    if (record.withdrawnAt !== null) continue;
    if (record.activatesAt <= now) return record;
    oldest = record;
  }
  return oldest;
}

/** When a newer generation took over from `records[index]` (null while none has). */
function retiredAt(records: readonly SigningKeyRecord[], index: number, now: number): number | null {
  let at: number | null = null;
  for (let i = 0; i < index; i++) {
    const activates = records[i]!.activatesAt;
    if (activates <= now && (at === null || activates < at)) at = activates;
  }
  return at;
}

function publishedUntil(records: readonly SigningKeyRecord[], index: number, now: number): number | null {
  const withdrawn = records[index]!.withdrawnAt;
  if (withdrawn !== null) return withdrawn;
  const retired = retiredAt(records, index, now);
  return retired === null ? null : retired + MAX_TOKEN_TTL_MS + PUBLISH_MARGIN_MS;
}

/**
 * Until when the store keeps a key: while it is published, and a withdrawn key until every token
 * it can have signed has expired, so those tokens are answered `revoked` rather than `unknown`.
 */
function keptUntil(records: readonly SigningKeyRecord[], index: number, now: number): number | null {
  const withdrawn = records[index]!.withdrawnAt;
  return withdrawn !== null ? withdrawn + MAX_TOKEN_TTL_MS + PUBLISH_MARGIN_MS : publishedUntil(records, index, now);
}

/** The state of every key of `records` (newest generation first) at `now`. */
function describeKeys(records: readonly SigningKeyRecord[], now: number): SigningKeyInfo[] {
  const signing = signingRecord(records, now);
  return records.map((r, i) => ({
    kid: r.id,
    alg: r.alg,
    status: r.withdrawnAt !== null ? 'withdrawn' : r === signing ? 'current' : r.activatesAt > now ? 'next' : 'retired',
    createdAt: r.createdAt,
    activatesAt: r.activatesAt,
    retiredAt: retiredAt(records, i, now),
    publishedUntil: publishedUntil(records, i, now),
    withdrawnAt: r.withdrawnAt,
  }));
}
