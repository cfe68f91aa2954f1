import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusalOf, VERIFY_CODES as SDK_CODES } from '@keyport/node';
import { VERIFY_CODES } from '../../src/domain/verification.js';
import { REFUSAL_STATUS, refusalChallenge, refusalTitle, type RefusalCode } from '../../src/http/routes/authz.js';

/**
 * The SDK is a package of its own and cannot import the server, so it keeps copies of what it
 * shares with it: the verification codes, and how /v1/authz answers each refusal. These hold the
 * copies to the server's.
 */
test("the SDK knows the server's verification codes, in the same order", () => {
  assert.deepEqual([...SDK_CODES], [...VERIFY_CODES]);
});

test('the SDK middleware refuses each code with the status, title and challenge of /v1/authz', () => {
  const codes = [...VERIFY_CODES.filter((c) => c !== 'valid'), 'missing'] as RefusalCode[];
  for (const code of codes) {
    const sdk = refusalOf(code);
    assert.deepEqual(
      { status: sdk.status, title: sdk.body.title, challenge: sdk.headers['www-authenticate'], code: sdk.headers['x-keyport-code'] },
      { status: REFUSAL_STATUS[code], title: refusalTitle(code), challenge: refusalChallenge(code), code },
      code,
    );
  }
});
