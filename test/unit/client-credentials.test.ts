import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readClientCredentials } from '../../src/oauth/client-credentials.js';
import { FormParams } from '../../src/oauth/form.js';

const basic = (raw: string) => `Basic ${Buffer.from(raw).toString('base64')}`;

describe('reading client credentials (RFC 6749 2.3.1)', () => {
  test('HTTP Basic, each half form-decoded', () => {
    assert.deepEqual(readClientCredentials(FormParams.parse(''), basic('kpid_x:kpsk_y')), { clientId: 'kpid_x', secret: 'kpsk_y', method: 'client_secret_basic' });
    assert.deepEqual(readClientCredentials(FormParams.parse(''), basic('a%3Ab:c+d%25')), { clientId: 'a:b', secret: 'c d%', method: 'client_secret_basic' });
    assert.deepEqual(readClientCredentials(FormParams.parse('client_id=a%3Ab'), basic('a%3Ab:s'))?.clientId, 'a:b', 'the same client_id in the body is allowed');
  });

  test('client_id and client_secret in the body', () => {
    assert.deepEqual(readClientCredentials(FormParams.parse('client_id=id&client_secret=s'), undefined), { clientId: 'id', secret: 's', method: 'client_secret_post' });
    assert.equal(readClientCredentials(FormParams.parse('client_id=id'), undefined), null, 'an id alone is no authentication');
    assert.equal(readClientCredentials(FormParams.parse('grant_type=client_credentials'), ''), null);
  });

  test('refusals: two methods, mismatching ids, broken headers, repeated parameters', () => {
    const cases: [string, string | undefined, string][] = [
      ['client_secret=s', basic('a:b'), 'invalid_request'],
      ['client_id=other', basic('a:b'), 'invalid_request'],
      ['client_secret=s', undefined, 'invalid_request'],
      ['', 'Basic ###', 'invalid_client'],
      ['', basic('no-colon'), 'invalid_client'],
      ['', basic('%E0%A4%A:x'), 'invalid_client'],
      ['', 'Digest abc', 'invalid_client'],
      ['client_id=a&client_id=a&client_secret=s', undefined, 'invalid_request'],
    ];
    for (const [body, header, error] of cases)
      assert.throws(() => readClientCredentials(FormParams.parse(body), header), (err: any) => err.error === error, `${body} ${header}`);
  });
});
