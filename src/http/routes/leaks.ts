import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.js';
import Ajv from 'ajv';
import { LeakAlertBody, LeakLabels } from '../../contract/leaks.js';
import { AppError, validationError, type FieldError } from '../../domain/errors.js';
import { verifyLeakSignature } from '../../domain/leak-keys.js';
import type { Services } from '../../services/index.js';
import type { LeakReport } from '../../services/leaks-service.js';
import { problems } from '../schemas.js';

/** An alert of up to MAX_LEAK_REPORTS tokens fits well within this. */
const ALERT_BODY_LIMIT = 2 * 1024 * 1024;

/** The alert's JSON Schema (contract/leaks.ts), checked once the signature has been. */
const checkAlert = (() => {
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  return ajv.compile<LeakAlertBody>(LeakAlertBody as object);
})();

/** Reads the alert's items, naming every bad field. */
function readAlert(body: unknown): LeakReport[] {
  if (!checkAlert(body)) {
    const errors: FieldError[] = (checkAlert.errors ?? []).map((e) => ({
      pointer: e.keyword === 'required' ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}` : e.instancePath,
      detail: e.message ?? 'is not valid',
    }));
    throw validationError('The alert is not in the format of GitHub secret scanning (a JSON array of {token, type, url, source}): nothing was changed.', errors);
  }
  return body.map(({ token, type, url, source }) => ({ token, type, url: url ?? undefined, source: source ?? undefined }));
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

