import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { WebhookConfig } from '../config.js';
import { AppError } from '../domain/errors.js';

/**
 * Where webhooks may go (no SSRF into the platform's network): https:// only, to public unicast
 * addresses. An installation may allow http:// to loopback (KEYPORT_WEBHOOK_ALLOW_HTTP, for tests
 * and development) and private, link-local and loopback addresses (KEYPORT_WEBHOOK_ALLOW_PRIVATE).
 * The host's addresses are checked when the endpoint is saved and again on every attempt, and the
 * connection goes to the address that was checked, so a name that re-resolves elsewhere between
 * the check and the connection (DNS rebinding) gets nowhere.
 */

const PRIVATE_RANGES = new Set(['private', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);

/** Whether a delivery may connect to `address` under `config`. */
export function addressAllowed(address: string, config: WebhookConfig): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return false;
  }
  const range = parsed.range();
  if (range === 'unicast') return true;
  if (range === 'loopback') return config.allowHttp || config.allowPrivate;
  return PRIVATE_RANGES.has(range) && config.allowPrivate;
}

const refuse = (detail: string) => new AppError('webhook_url_not_allowed', detail, [{ pointer: '/url', detail }]);

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

function resolveAll(host: string): Promise<LookupAddress[]> {
  if (ipaddr.isValid(host)) return Promise.resolve([{ address: host, family: host.includes(':') ? 6 : 4 }]);
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));
}

/** The addresses `host` resolves to, all of them allowed; throws webhook_url_not_allowed otherwise. */
async function allowedAddresses(url: URL, config: WebhookConfig): Promise<LookupAddress[]> {
  const host = bareHost(url);
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch {
    throw refuse(`The host '${host}' does not resolve.`);
  }
  if (addresses.length === 0) throw refuse(`The host '${host}' does not resolve.`);
  for (const { address } of addresses) {
    if (!addressAllowed(address, config))
      throw refuse(`The host '${host}' is (or resolves to) ${address}, a loopback, private, link-local or reserved address this installation does not deliver to.`);
    if (url.protocol === 'http:' && ipaddr.process(address).range() !== 'loopback')
      throw refuse('http:// is accepted only to loopback addresses (KEYPORT_WEBHOOK_ALLOW_HTTP); use https://.');
  }
  return addresses;
}

/** Checks a webhook URL as given by a user: well-formed, https (or http to loopback when allowed), to an allowed address. */
export async function checkWebhookUrl(text: string, config: WebhookConfig): Promise<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('is not an absolute URL, e.g. https://hooks.example.com/keyport');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && config.allowHttp))
    throw refuse(config.allowHttp ? 'must be an https:// URL (or http:// to a loopback address)' : 'must be an https:// URL');
  if (url.username || url.password) throw refuse('must not carry a user name or password');
  await allowedAddresses(url, config);
  return url.toString();
}

/** What one attempt gave: the receiver's status code, or why there was none. */
export interface SendOutcome {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs `body` to `target` with `headers`, within `config.timeoutMs` from connection to the end
 * of the answer, connecting only to checked addresses. Never throws: a refusal, a timeout or a
 * network error is an outcome with `error` set (never the secret or the body).
 */
export async function sendWebhook(target: string, headers: Record<string, string>, body: string, config: WebhookConfig): Promise<SendOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  let addresses: LookupAddress[];
  try {
    url = new URL(target);
    addresses = await allowedAddresses(url, config);
  } catch (err) {
    return { statusCode: null, durationMs: elapsed(), error: err instanceof AppError ? err.message : 'invalid URL' };
  }
  // Hand the checked addresses to the socket instead of letting it resolve the name again.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const done = (outcome: Omit<SendOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    const req = send(
      url,
      { method: 'POST', lookup, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Keyport-Webhooks/1' } },
      (res: IncomingMessage) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => done({ statusCode: res.statusCode ?? null, error: null });
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ statusCode: null, error: `no answer within ${config.timeoutMs} ms` });
    }, config.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done({ statusCode: null, error: err.code ? `connection failed (${err.code})` : 'connection failed' }));
    req.end(body);
  });
}
