import type { Account, CreateAccountInput, CreatedAccount, Me, SettingsPatch } from './accounts.js';
import type { Catalog } from './catalog.js';
import type { CreateGrantInput, ExternalKey, UpdateGrantInput } from './grants.js';
import type { CreateKeyInput, IssuedKey, Key, KeyCounts, KeyPage, ListKeysQuery, Quickstart, UpdateKeyInput } from './keys.js';
import type { Usage, UsageQuery } from './usage.js';
import type { VerifyAnswer, VerifyBody } from './verify.js';

/**
 * The one typed client of the REST API, for the portal, the CLI and the tests: each method is
 * typed by the schemas the server validates and serialises with, so a change of a shape is a type
 * error wherever it is used. How a request travels (credentials, CSRF, errors) is the caller's
 * `send`; this module imports nothing at run time, so the browser can load it.
 */

export type Query = Record<string, string | number | boolean | null | undefined>;

/** Sends one request and resolves to the parsed answer; throws for an error answer. */
export type Send = <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, query?: Query) => Promise<T>;

/** `?a=1&b=x`, leaving out what is undefined, null or empty; '' when nothing is left. */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `/v1/accounts/{account}` with the id escaped. */
export const accountPath = (account: string) => `/v1/accounts/${encodeURIComponent(account)}`;
/** `/v1/accounts/{account}/keys/{key}` with both ids escaped. */
export const keyPath = (account: string, key: string) => `${accountPath(account)}/keys/${encodeURIComponent(key)}`;

export function keyportClient(send: Send) {
  return {
    me: () => send<Me>('GET', '/v1/me'),
    catalog: () => send<Catalog>('GET', '/v1/catalog'),
    verify: (body: VerifyBody) => send<VerifyAnswer>('POST', '/v1/verify', body),
    accounts: {
      create: (body: CreateAccountInput) => send<CreatedAccount>('POST', '/v1/accounts', body),
      list: () => send<{ items: Account[] }>('GET', '/v1/accounts'),
      get: (account: string) => send<Account>('GET', accountPath(account)),
      updateSettings: (account: string, patch: SettingsPatch) => send<Account>('PATCH', `${accountPath(account)}/settings`, patch),
    },
    keys: {
      list: (account: string, query: ListKeysQuery = {}) => send<KeyPage>('GET', `${accountPath(account)}/keys`, undefined, query),
      counts: (account: string) => send<KeyCounts>('GET', `${accountPath(account)}/keys/counts`),
      create: (account: string, body: CreateKeyInput) => send<IssuedKey>('POST', `${accountPath(account)}/keys`, body),
      get: (account: string, key: string) => send<Key>('GET', keyPath(account, key)),
      update: (account: string, key: string, body: UpdateKeyInput) => send<Key>('PATCH', keyPath(account, key), body),
      delete: (account: string, key: string, options: { revokeTokens?: boolean } = {}) => send<void>('DELETE', keyPath(account, key), undefined, options),
      batchDelete: (account: string, body: { ids: string[]; confirm: boolean; revokeTokens?: boolean }) =>
        send<{ deleted: string[] }>('POST', `${accountPath(account)}/keys/batch-delete`, body),
      resetSecret: (account: string, key: string, body: { confirm: boolean; previousSecretValidFor?: number }) =>
        send<IssuedKey>('POST', `${keyPath(account, key)}/reset-secret`, body),
      regenerate: (account: string, key: string, body: { confirm: boolean; revokeTokens?: boolean }) =>
        send<IssuedKey>('POST', `${keyPath(account, key)}/regenerate`, body),
      verifySecret: (account: string, key: string, secret: string) => send<{ matches: boolean }>('POST', `${keyPath(account, key)}/verify-secret`, { secret }),
      reveal: (account: string, key: string) => send<{ secret: string }>('POST', `${keyPath(account, key)}/reveal`, {}),
      quickstart: (account: string, key: string) => send<Quickstart>('GET', `${keyPath(account, key)}/quickstart`),
    },
    /** Verifications and token requests by outcome over time: one key's (`key`), or the account's. */
    usage: (account: string, query: UsageQuery = {}) => send<Usage>('GET', `${accountPath(account)}/usage`, undefined, query),
    grants: {
      externalKeys: (account: string) => send<{ items: ExternalKey[] }>('GET', `${accountPath(account)}/external-keys`),
      create: (account: string, body: CreateGrantInput) => send<ExternalKey>('POST', `${accountPath(account)}/grants`, body),
      update: (account: string, grant: string, body: UpdateGrantInput) =>
        send<ExternalKey>('PATCH', `${accountPath(account)}/grants/${encodeURIComponent(grant)}`, body),
      delete: (account: string, grant: string) => send<void>('DELETE', `${accountPath(account)}/grants/${encodeURIComponent(grant)}`),
    },
  };
}

export type KeyportClient = ReturnType<typeof keyportClient>;
