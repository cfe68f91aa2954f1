import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.js';
import { LeakLabels, MAX_LEAK_REPORTS } from '../../contract/leaks.js';
import { AppError, validationError, type FieldError } from '../../domain/errors.js';
import { verifyLeakSignature } from '../../domain/leak-keys.js';
import type { Services } from '../../services/index.js';
import type { LeakReport } from '../../services/leaks-service.js';
import { problems } from '../schemas.js';

/** An alert of up to MAX_LEAK_REPORTS tokens fits well within this. */
const ALERT_BODY_LIMIT = 2 * 1024 * 1024;

const OPTIONAL_TEXT = { url: 2000, source: 200 } as const;

/** Reads the alert's items, naming every bad field (the body's JSON Schema, checked after the signature). */
function readAlert(body: unknown): LeakReport[] {
  if (!Array.isArray(body)) throw validationError('The alert must be a JSON array of {token, type, url, source}.', [{ pointer: '', detail: 'must be an array' }]);
  if (body.length > MAX_LEAK_REPORTS) throw validationError(`An alert reports at most ${MAX_LEAK_REPORTS} tokens.`, [{ pointer: '', detail: `must have at most ${MAX_LEAK_REPORTS} items` }]);
  const errors: FieldError[] = [];
  const reports: LeakReport[] = [];
  for (const [i, item] of body.entries()) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ pointer: `/${i}`, detail: 'must be an object' });
      continue;
    }
    const { token, type, url, source } = item as Record<string, unknown>;
    if (typeof token !== 'string' || token.length === 0 || token.length > 1000) errors.push({ pointer: `/${i}/token`, detail: 'must be a string of 1 to 1000 characters' });
    if (typeof type !== 'string' || type.length > 200) errors.push({ pointer: `/${i}/type`, detail: 'must be a string of at most 200 characters' });
    for (const [field, max] of Object.entries(OPTIONAL_TEXT)) {
      const value = (item as Record<string, unknown>)[field];
      if (value !== undefined && value !== null && (typeof value !== 'string' || value.length > max)) errors.push({ pointer: `/${i}/${field}`, detail: `must be a string of at most ${max} characters` });
    }
    reports.push({ token: token as string, type: type as string, url: typeof url === 'string' ? url : undefined, source: typeof source === 'string' ? source : undefined });
  }
  if (errors.length) throw validationError('The alert is not in the format of GitHub secret scanning: nothing was changed.', errors);
  return reports;
}

/**
 * GitHub secret scanning's partner endpoint. GitHub posts the tokens matching the patterns a
 * platform registered, signed with ECDSA P-256 over the raw body (headers Github-Public-Key-Identifier
 * and Github-Public-Key-Signature); the signature is the only credential, so it is checked over the
 * bytes received before anything is read or changed. The answer labels each token.
 */
export const leakRoutes: FastifyPluginAsync<{ services: Services; config: Readonly<Config> }> = async (app, { services, config }) => {
  // The raw bytes: the signature covers them, not any re-encoding of the parsed JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ALERT_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post(
    '/v1/leaks/github',
    {
      bodyLimit: ALERT_BODY_LIMIT,
      schema: {
        tags: ['leaks'],
        security: [],
        summary: 'GitHub secret scanning partner alerts: tokens found in public, answered with a label each',
        description:
          "Called by GitHub, not by people. The body is a JSON array of {token, type, url, source}; headers Github-Public-Key-Identifier and Github-Public-Key-Signature (base64 DER ECDSA P-256 over the raw body) must verify against a configured key (KEYPORT_GITHUB_LEAK_KEYS or KEYPORT_GITHUB_LEAK_KEYS_FILE). Each Keyport key found (prefix and checksum, then its hash) is handled per its account's leakResponse and labelled true_positive; anything else false_positive, and nothing is changed for it.",
        headers: {
          type: 'object',
          properties: {
            'github-public-key-identifier': { type: 'string', description: 'The identifier of the key that signed the body.' },
            'github-public-key-signature': { type: 'string', description: 'Base64 of the DER-encoded ECDSA signature (SHA-256) over the raw body.' },
          },
        },
        // Documentation only: the body is bytes until the signature is checked (see readAlert).
        response: { 200: LeakLabels, ...problems(400, 401, 404, 413, 415) },
      },
    },
    async (request) => {
      const keys = config.githubLeakKeys;
      if (keys === null)
        throw new AppError('leak_reports_not_configured', 'This installation accepts no GitHub secret scanning alerts: set KEYPORT_GITHUB_LEAK_KEYS or KEYPORT_GITHUB_LEAK_KEYS_FILE.');
      const keyId = request.headers['github-public-key-identifier'];
      const signature = request.headers['github-public-key-signature'];
      if (typeof keyId !== 'string' || keyId === '' || typeof signature !== 'string' || signature === '')
        throw new AppError('invalid_signature', 'Send the alert with the Github-Public-Key-Identifier and Github-Public-Key-Signature headers.');
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (!verifyLeakSignature(keys, keyId, signature, body))
        throw new AppError('invalid_signature', `The signature does not verify over the body with the key '${keyId}' (or no such key is configured); nothing was changed.`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new AppError('malformed_json', 'The alert is not valid JSON; nothing was changed.');
      }
      const { labels } = await services.leaks.report('github', readAlert(parsed));
      return labels;
    },
  );
};

