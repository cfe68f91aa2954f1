import { LEAK_LABELS } from '../contract/leaks.js';
import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { hashKeyString, parseKeyString } from '../domain/key-strings.js';
import type { KeyRecord } from '../domain/model.js';
import type { Store } from '../storage/repositories.js';
import { apiTokenRevokedEvent, keyLeakedEvents } from './change-events.js';
import { toKeyView } from './key-view.js';
import type { Outbox } from './outbox.js';

/** One secret a scanner found in public (GitHub's secret scanning partner alert: one array item). */
export interface LeakReport {
  token: string;
  type: string;
  url?: string | undefined;
  source?: string | undefined;
}

/** The answer for one reported secret, as GitHub's partner program reads it back. */
export interface LeakLabel {
  token_raw: string;
  token_type: string;
  label: (typeof LEAK_LABELS)[number];
}

/** What the report did to a key, or a management token, that was ours. */
export type LeakOutcome =
  | { key: KeyRecord; handled: 'revoked' | 'notified' | 'already_reported' }
  | { apiTokenId: string; handled: 'revoked' | 'already_revoked' };

/**
 * Reports of secrets found in public. A reported string is ours when it has a Keyport prefix and
 * a valid checksum (key-strings.ts) and it is the secret of a key, current or previous. Then the
 * key's account decides (`leakResponse`): `revoke` switches the key off and revokes its access
 * tokens at once, `notify` keeps it working; either way the key is marked with the report, the
 * audit log records it and `key.leaked` goes to the account's webhooks, all in one transaction.
 * A key already marked is left as it is (a secret is often found in several places): the first
 * report is the one acted on. Client ids are public and never count as leaks.
 *
 * A management token found in public (`kpat_`: a platform owner, personal or service token) is
 * revoked at once whatever the account says, and audited: it can change keys, so no one should
 * keep using it. A revoked platform owner token stays revoked; set a new KEYPORT_BOOTSTRAP_TOKEN.
 */
export class LeaksService {
  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly outbox: Outbox,
  ) {}

  /** Handles every report, in order; the labels answer them one for one. */
  async report(scanner: string, reports: readonly LeakReport[]): Promise<{ labels: LeakLabel[]; outcomes: LeakOutcome[] }> {
    const labels: LeakLabel[] = [];
    const outcomes: LeakOutcome[] = [];
    for (const report of reports) {
      const outcome = await this.handle(scanner, report);
      if (outcome !== null) outcomes.push(outcome);
      labels.push({ token_raw: report.token, token_type: report.type, label: outcome === null ? 'false_positive' : 'true_positive' });
    }
    return { labels, outcomes };
  }

  private async handle(scanner: string, report: LeakReport): Promise<LeakOutcome | null> {
    const parsed = parseKeyString(report.token);
    if (parsed === null || parsed.type === 'clientId') return null;
    const hash = hashKeyString(report.token);
    if (parsed.type === 'apiToken') return this.handleApiToken(scanner, report, hash);
    return this.store.transaction(async (repos) => {
      const before = await repos.keys.findByAnySecretHash(hash);
      if (before === undefined) return null;
      if (before.leak !== null) return { key: before, handled: 'already_reported' as const };
      const account = await repos.accounts.find(before.accountId);
      const revoke = (account?.settings.leakResponse ?? 'revoke') === 'revoke';
      const now = this.clock.now();
      const after: KeyRecord = {
        ...before,
        active: revoke ? false : before.active,
        leak: { reportedAt: now, source: report.source ? `${scanner}:${report.source}` : scanner, url: report.url ?? null },
        updatedAt: now,
      };
      if (!(await repos.keys.markLeaked(after.id, after.leak!, revoke, now))) return { key: before, handled: 'already_reported' as const };
      const view = toKeyView(this.catalog, after, now);
      await this.outbox.record(repos, {
        audit: {
          actor: { system: `${scanner} secret scanning` },
          entry: {
            accountId: after.accountId,
            action: 'key.leaked',
            keyId: after.id,
            before: toKeyView(this.catalog, before, now),
            after: { ...view, leakResponse: revoke ? 'revoke' : 'notify', revokeTokens: revoke, reportedType: report.type },
          },
        },
        events: keyLeakedEvents(before, after, revoke, now),
        notices: [{ accountId: after.accountId, type: 'key.leaked', data: view }],
      });
      return { key: after, handled: revoke ? ('revoked' as const) : ('notified' as const) };
    });
  }

  private async handleApiToken(scanner: string, report: LeakReport, hash: string): Promise<LeakOutcome | null> {
    return this.store.transaction(async (repos) => {
      const token = await repos.apiTokens.findByHash(hash);
      if (token === undefined) return null;
      if (token.revokedAt !== null) return { apiTokenId: token.id, handled: 'already_revoked' as const };
      const now = this.clock.now();
      await repos.apiTokens.revoke(token.id, now);
      await this.outbox.record(repos, {
        audit: {
          actor: { system: `${scanner} secret scanning` },
          entry: {
            accountId: token.accountId,
            action: `${token.kind}_token.leaked`,
            targetId: token.id,
            after: { name: token.name, operatorId: token.operatorId, revokedAt: new Date(now).toISOString(), source: report.source ?? null, url: report.url ?? null },
          },
        },
        events: [apiTokenRevokedEvent(token.accountId, token.id, now)],
      });
      return { apiTokenId: token.id, handled: 'revoked' as const };
    });
  }
}
