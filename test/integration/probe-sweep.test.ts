import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERRORS, type ErrorCode } from '../../src/domain/errors.js';
import { createAccount, createKey, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';

/**
 * The outside probe's sweep, generated from the OpenAPI document: every operation, sent malformed
 * in every way it can be (path parameters overlong, badly percent-encoded or of the wrong kind;
 * query parameters of the wrong type, huge, repeated or unknown; bodies that are not JSON, of
 * another content type, missing fields, extra fields, fields of the wrong type or huge; broken
 * cookies and Authorization headers). No answer may be a 5xx, and every refusal must be in the
 * documented shape: an RFC 9457 problem document whose code, title and status agree with the
 * error table, or under /oauth/* an RFC 6749 error with Cache-Control: no-store.
 */

interface Operation {
  method: string;
  path: string;
  op: any;
}

interface Variant {
  label: string;
  method?: string;
  path: string;
  query?: string;
  body?: string;
  headers?: Record<string, string>;
}

let kp: TestKeyport;
let spec: any;
let account = '';
let keyId = '';

before(async () => {
  kp = await startTestKeyport('sqlite');
  spec = await (await fetch(`${kp.url}/openapi.json`)).json();
  account = await createAccount(kp.api);
  keyId = (await createKey(kp.api, account)).key.id;
});
after(async () => kp?.stop());

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries<Record<string, any>>(spec.paths))
    for (const [method, op] of Object.entries(ops)) if (method !== 'parameters') out.push({ method: method.toUpperCase(), path, op });
  return out;
}

/** A schema with its $ref (to a component) followed. */
function resolve(schema: any): any {
  if (schema?.$ref) {
    const name = String(schema.$ref).replace(/^#\/components\/schemas\//, '').replace(/#$/, '');
    return resolve(spec.components.schemas[name]);
  }
  return schema ?? {};
}

/** A value of the wrong type for `schema`, and a huge one. */
function wrongValues(schema: any): unknown[] {
  const s = resolve(schema);
  const types = ([] as string[]).concat(s.type ?? []);
  const values: unknown[] = [];
  if (!types.includes('string')) values.push('not-the-type');
  if (!types.includes('number') && !types.includes('integer')) values.push(12345);
  if (!types.includes('boolean')) values.push(true);
  if (!types.includes('object')) values.push({ nested: { deeper: [1, 2, 3] } });
  if (!types.includes('array')) values.push([1, 'two', null]);
  values.push(null, 1e308, -1, 'x'.repeat(10_000), '\uD800', 'a\u0000b', '2030-12-31T23:59:60Z');
  return values;
}

/** A plausible value of a path parameter, so the request reaches the route's own checks. */
function pathValue(name: string): string {
  if (name === 'account') return account;
  if (name === 'key') return keyId;
  if (name === 'environment') return 'sandbox';
  return `${name}_nope`;
}

/** Percent-encoded as UTF-8; a lone surrogate as the bytes it would have (invalid UTF-8, as a probe sends it). */
const percentEncode = (text: string) => text.split(/([\uD800-\uDFFF])/u).map((part) => (/^[\uD800-\uDFFF]$/u.test(part) ? '%ED%A0%80' : encodeURIComponent(part))).join('');

const fill = (path: string, values: Record<string, string> = {}) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? encodeURIComponent(pathValue(name)));

function variants(operation: Operation): Variant[] {
  const { path, op } = operation;
  const params: any[] = op.parameters ?? [];
  const out: Variant[] = [{ label: 'as documented, empty', path: fill(path) }];
  const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name as string);
  for (const name of pathParams)
    for (const [label, value] of [
      ['overlong', 'a'.repeat(101)],
      ['very long', 'a'.repeat(3000)],
      ['broken percent-encoding', '%E0%A4%A'],
      ['percent-encoded NUL', '%00'],
      ['dot segment', '..'],
      ['unicode', encodeURIComponent('ключ😀')],
      ['a number', '12345'],
      ['spaces', '%20%20'],
    ] as const)
      out.push({ label: `path ${name} ${label}`, path: fill(path, { [name]: value }) });
  for (const p of params.filter((p) => p.in === 'query')) {
    for (const value of wrongValues(p.schema)) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      out.push({ label: `query ${p.name}=${text.slice(0, 20)}`, path: fill(path), query: `${p.name}=${percentEncode(text)}` });
    }
    out.push({ label: `query ${p.name} repeated`, path: fill(path), query: `${p.name}=1&${p.name}=2` });
    out.push({ label: `query ${p.name} broken percent-encoding`, path: fill(path), query: `${p.name}=%E0%A4%A` });
  }
  out.push({ label: 'broken percent-encoding after the path', path: `${fill(path)}%E0%A4%A` });
  out.push({ label: 'an unknown segment after the path', path: `${fill(path)}/nothing-here` });
  out.push({ label: 'a 3000-character segment after the path', path: `${fill(path)}/${'b'.repeat(3000)}` });
  for (const method of ['PUT', 'OPTIONS', 'PROPFIND', 'BREW'])
    if (method !== operation.method) out.push({ label: `method ${method}`, method, path: fill(path), ...(method === 'PUT' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
  out.push({ label: 'unknown query parameter', path: fill(path), query: 'colour=red' });
  out.push({ label: 'query string of garbage', path: fill(path), query: '%%%&&==&a[b]=c' });

  const content = op.requestBody?.content ?? {};
  const json = content['application/json'];
  const form = content['application/x-www-form-urlencoded'];
  if (json || form || ['POST', 'PATCH', 'PUT'].includes(operation.method)) {
    const type = form ? 'application/x-www-form-urlencoded' : 'application/json';
    const bodies: [string, string, string][] = [
      ['body not JSON', '{"name": "x",', 'application/json'],
      ['body empty', '', type],
      ['body a JSON array', '[1,2,3]', 'application/json'],
      ['body JSON null', 'null', 'application/json'],
      ['body a JSON string', '"text"', 'application/json'],
      ['body {}', '{}', 'application/json'],
      ['body with an unknown field', '{"colour":"red"}', 'application/json'],
      ['body as text/plain', 'name=x', 'text/plain'],
      ['body as a form', 'name=x&grant_type=client_credentials', 'application/x-www-form-urlencoded'],
      ['body as XML', '<name>x</name>', 'application/xml'],
      ['body with a broken content type', '{}', 'application/json; charset=nonsense-charset'],
      ['body 70 KB', JSON.stringify({ name: 'x'.repeat(70_000) }), type],
      ['body deeply nested', '['.repeat(5000) + ']'.repeat(5000), 'application/json'],
      ['body with a number overflow', '{"name": 1e400}', 'application/json'],
      ['body with a lone surrogate', '{"name": "\\ud800"}', 'application/json'],
      ['form with broken percent-encoding', 'grant_type=%E0%A4%A&client_id=%', 'application/x-www-form-urlencoded'],
    ];
    for (const [label, body, contentType] of bodies) out.push({ label, path: fill(path), body, headers: { 'content-type': contentType } });
    const schema = resolve(json?.schema);
    const properties = Object.entries<any>(schema.properties ?? {});
    for (const [name, propSchema] of properties) {
      for (const value of wrongValues(propSchema))
        out.push({
          label: `body ${name}=${JSON.stringify(value).slice(0, 20)}`,
          path: fill(path),
          body: JSON.stringify({ [name]: value }),
          headers: { 'content-type': 'application/json' },
        });
    }
    if (properties.length)
      out.push({
        label: 'body with every field and one extra',
        path: fill(path),
        body: JSON.stringify({ ...Object.fromEntries(properties.map(([n]) => [n, 'x'])), extra: 1 }),
        headers: { 'content-type': 'application/json' },
      });
  }
  for (const [label, headers] of [
    ['a broken session cookie', { cookie: 'keyport_session=%E0%A4%A' }],
    ['a huge session cookie', { cookie: `keyport_session=${'a'.repeat(8000)}` }],
    ['a garbage cookie header', { cookie: ';;;=;==%%; keyport_session' }],
    ['a broken bearer token', { authorization: 'Bearer \u00ff\u00fe' }],
    ['an empty bearer token', { authorization: 'Bearer ' }],
    ['broken Basic credentials', { authorization: 'Basic !!!notbase64' }],
    ['Basic credentials with a broken encoding', { authorization: `Basic ${Buffer.from('%E0%A4%A:%').toString('base64')}` }],
    ['an unknown scheme', { authorization: 'Digest abc' }],
    ['an odd Accept', { accept: 'application/x-nothing' }],
    ['a broken x-api-key', { 'x-api-key': '%E0%A4%A' }],
  ] as const)
    out.push({ label, path: fill(path), headers: { ...headers } });
  return out;
}

const isOAuth = (path: string) => path.startsWith('/oauth/');

/** What is wrong with an answer, or null when it is in the documented shape. */
function shapeProblem(path: string, res: Response, text: string): string | null {
  if (res.status >= 500) return `a ${res.status}`;
  if (res.status < 400) return null;
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return `a body that is not JSON: ${text.slice(0, 100)}`;
  }
  const type = res.headers.get('content-type') ?? '';
  if (isOAuth(path)) {
    if (!type.startsWith('application/json')) return `content-type ${type} under /oauth`;
    if (res.headers.get('cache-control') !== 'no-store') return 'no Cache-Control: no-store under /oauth';
    if (typeof body.error !== 'string' || !/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/.test(body.error)) return `no RFC 6749 error: ${text.slice(0, 200)}`;
    if (body.error_description !== undefined && typeof body.error_description !== 'string') return 'error_description is not a string';
    return null;
  }
  if (!type.startsWith('application/problem+json')) return `content-type ${type}: ${text.slice(0, 200)}`;
  const entry = ERRORS[body.code as ErrorCode];
  if (!entry) return `an undocumented code ${JSON.stringify(body.code)}`;
  if (body.type !== `urn:keyport:problem:${body.code}`) return `type ${body.type}`;
  if (body.status !== res.status || entry.status !== res.status) return `status ${res.status}, body ${body.status}, table ${entry.status}`;
  if (body.title !== entry.title) return `title ${body.title}`;
  if (typeof body.detail !== 'string' || body.detail.length === 0) return 'no detail';
  if (body.errors !== undefined && !(Array.isArray(body.errors) && body.errors.every((e: any) => typeof e.pointer === 'string' && typeof e.detail === 'string')))
    return `errors ${JSON.stringify(body.errors)}`;
  const known = new Set(['type', 'code', 'title', 'status', 'detail', 'instance', 'errors']);
  const extra = Object.keys(body).filter((k) => !known.has(k));
  if (extra.length) return `undocumented members ${extra.join(', ')}`;
  return null;
}

test('every operation × every malformed variant: no 5xx, every refusal in the documented shape', async (t) => {
  const ops = operations();
  assert.ok(ops.length >= 50, `the OpenAPI document lists ${ops.length} operations`);
  const failures: string[] = [];
  let sent = 0;
  for (const operation of ops) {
    for (const variant of variants(operation)) {
      for (const auth of [`Bearer ${TEST_TOKEN}`, null]) {
        // Each variant once as the platform owner (so it reaches validation) and once anonymous;
        // a variant that sets its own Authorization header is sent as it is.
        if (auth === null && variant.headers?.authorization) continue;
        const url = `${kp.url}${variant.path}${variant.query ? `?${variant.query}` : ''}`;
        const headers: Record<string, string> = { ...(auth ? { authorization: auth } : {}), ...variant.headers };
        let res: Response;
        try {
          // A deadline per request: an operation that never answers is a finding, not a hung suite.
          res = await fetch(url, { method: variant.method ?? operation.method, headers, body: variant.body, signal: AbortSignal.timeout(15_000) });
        } catch (err) {
          failures.push(`${operation.method} ${operation.path} [${variant.label}]: no answer (${(err as Error).message})`);
          continue;
        }
        sent++;
        if (res.ok && res.headers.get('content-type')?.startsWith('text/event-stream')) {
          // The event stream (GET /v1/events) stays open by design: its refusals are checked, an accepted stream is let go.
          await res.body?.cancel();
          continue;
        }
        const text = await res.text();
        const problem = shapeProblem(variant.path, res, text);
        if (problem) failures.push(`${operation.method} ${operation.path} [${variant.label}${auth ? '' : ', anonymous'}]: ${problem}`);
      }
    }
  }
  t.diagnostic(`${ops.length} operations, ${sent} requests`);
  assert.ok(sent > 1500, `${sent} requests sent`);
  assert.deepEqual(failures.slice(0, 40), [], `${failures.length} of ${sent} answers are not in the documented shape`);
});
