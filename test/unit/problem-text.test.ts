import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describePointer, humanizeDetail, problemSentences } from '../../src/portal/lib/problem-text.js';

describe('validator messages as sentences (portal)', () => {
  test('the validator wordings the API sends become sentences', () => {
    const cases: [string, string][] = [
      ['must NOT have more than 254 characters', 'Use at most 254 characters.'],
      ['must NOT have fewer than 1 characters', 'This cannot be empty.'],
      ['must NOT have fewer than 12 characters', 'Use at least 12 characters.'],
      ['must NOT have more than 500 items', 'Choose at most 500.'],
      ['must match format "email"', 'Enter an e-mail address, like name@example.com.'],
      ['must match pattern "\\S"', 'This contains characters that are not allowed here.'],
      ['must be >= 60', 'Use 60 or more.'],
      ['must be <= 86400', 'Use 86400 or less.'],
      ['must be integer', 'Use a whole number.'],
      ['must be one of "sandbox", "production"', 'Choose one of sandbox, production.'],
      ['is required', 'This is required.'],
      ['is not a known field', 'This field is not accepted here.'],
    ];
    for (const [raw, sentence] of cases) assert.equal(humanizeDetail(raw), sentence, raw);
  });

  test('messages written for people pass through, as a sentence', () => {
    assert.equal(humanizeDetail("unknown scope 'nonsense.scope'"), "Unknown scope 'nonsense.scope'.");
    assert.equal(humanizeDetail('A custom key needs at least one scope or role.'), 'A custom key needs at least one scope or role.');
  });

  test('a field that no form shows is named from its pointer', () => {
    assert.equal(describePointer('/credits/refill/amount'), 'Credits, refill, amount');
    assert.equal(describePointer('/scopes/0'), 'Scopes, item 1');
    assert.equal(describePointer('/keyLimitPerEnvironment'), 'Key limit per environment');
    assert.deepEqual(problemSentences([{ pointer: '/name', detail: 'must NOT have more than 100 characters' }]), ['Name: use at most 100 characters.']);
  });
});
