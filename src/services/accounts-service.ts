import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { ENVIRONMENTS } from '../domain/environment.js';
import { notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Account } from '../domain/model.js';
import type { Actor } from '../domain/principal.js';
import { DEFAULT_SETTINGS, normaliseNoticeDays } from '../domain/settings.js';
import { newKeyRecord } from '../domain/key-rules.js';
import type { CreateAccountInput, SettingsPatch } from '../contract/accounts.js';
import type { Key } from '../contract/keys.js';
import type { Store } from '../storage/repositories.js';
import { keyChangeEvents, settingsChangedEvent } from './change-events.js';
import { toKeyView } from './key-view.js';
import type { Outbox } from './outbox.js';

export class AccountsService {
  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Creates an account; unless told not to, provisions an admin and a storefront client_secret key
   * in each environment. Those keys have no secret until an operator resets it.
   */
  async create(input: CreateAccountInput, actor: Actor): Promise<{ account: Account; provisionedKeys: Key[] }> {
    const now = this.clock.now();
    const account: Account = {
      id: newId('acct'),
      name: input.name.trim(),
      eligible: input.eligible ?? true,
      settings: structuredClone(DEFAULT_SETTINGS),
      createdAt: now,
      updatedAt: now,
    };
    const keys =
      input.provisionDefaultKeys === false
        ? []
        : ENVIRONMENTS.flatMap((environment) =>
            (['admin', 'storefront'] as const).map((kind) =>
              newKeyRecord({
                accountId: account.id,
                name: `${kind === 'admin' ? 'Admin' : 'Storefront'} API (${environment})`,
                environment,
                kind,
                credentialType: 'client_secret',
                scopes: [],
                roles: [],
                channel: null,
                active: true,
                expiresAt: null,
                createdBy: actor.principal.id,
                now,
                withSecret: false,
              }).record,
            ),
          );
    await this.store.transaction(async (repos) => {
      await repos.accounts.insert(account);
      for (const key of keys) await repos.keys.insert(key);
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId: account.id, action: 'account.create', after: { name: account.name, eligible: account.eligible, provisionedKeys: keys.map((k) => k.id) } } },
        events: keys.flatMap((key) => keyChangeEvents({ type: 'created', actor, after: key, revokeTokens: false }, [], now)),
      });
    });
    return { account, provisionedKeys: keys.map((k) => toKeyView(this.catalog, k, now)) };
  }

  async get(id: string): Promise<Account> {
    const account = await this.store.repos.accounts.find(id);
    if (!account) throw notFound('Account', id);
    return account;
  }

  async list(ids?: readonly string[]): Promise<Account[]> {
    return this.store.repos.accounts.list(ids);
  }

  /** Applies a settings change and returns the account as it now is. */
  async updateSettings(id: string, patch: SettingsPatch, actor: Actor): Promise<{ before: Account; after: Account }> {
    return this.store.transaction(async (repos) => {
      const before = await repos.accounts.find(id);
      if (!before) throw notFound('Account', id);
      const s = before.settings;
      const after: Account = {
        ...before,
        settings: {
          accessTokenTtl: patch.accessTokenTtl ?? s.accessTokenTtl,
          keyLifetime: patch.keyLifetime !== undefined ? patch.keyLifetime : s.keyLifetime,
          keyLimitPerEnvironment: patch.keyLimitPerEnvironment ?? s.keyLimitPerEnvironment,
          secretReveal: patch.secretReveal ?? s.secretReveal,
          defaultActive: { ...s.defaultActive, ...patch.defaultActive },
          expiryNoticeDays: patch.expiryNoticeDays !== undefined ? normaliseNoticeDays(patch.expiryNoticeDays) : s.expiryNoticeDays,
          leakResponse: patch.leakResponse ?? s.leakResponse,
          creditsLowThreshold: patch.creditsLowThreshold ?? s.creditsLowThreshold,
        },
        updatedAt: this.clock.now(),
      };
      await repos.accounts.update(after);
      // Switching to "never" destroys every revealable copy: from now on only hashes remain.
      if (before.settings.secretReveal === 'permitted' && after.settings.secretReveal === 'never') await repos.keys.clearEncryptedSecrets(id);
      await this.outbox.record(repos, {
        audit: { actor, entry: { accountId: id, action: 'settings.update', before: before.settings, after: after.settings } },
        events: [settingsChangedEvent(id, after.updatedAt)],
      });
      return { before, after };
    });
  }
}
