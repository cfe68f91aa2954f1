/**
 * Validator messages ("must NOT have more than 254 characters") are written for programs. These
 * turn them into sentences for the person at the form. Messages already written for people pass
 * through as they are, with a capital and a full stop.
 */

const RULES: [RegExp, (...groups: string[]) => string][] = [
  [/^must NOT have more than (\d+) characters?$/i, (n) => `Use at most ${n} characters.`],
  [/^must NOT have fewer than 1 characters?$/i, () => 'This cannot be empty.'],
  [/^must NOT have fewer than (\d+) characters?$/i, (n) => `Use at least ${n} characters.`],
  [/^must NOT have more than (\d+) items?$/i, (n) => `Choose at most ${n}.`],
  [/^must NOT have fewer than (\d+) items?$/i, (n) => `Choose at least ${n}.`],
  [/^must match format "?email"?$/i, () => 'Enter an e-mail address, like name@example.com.'],
  [/^must match format "?(date-time|date)"?$/i, () => 'Enter a valid date.'],
  [/^must match format "?uri"?$/i, () => 'Enter a full URL, like https://example.com/hook.'],
  [/^must match format "?(ipv4|ipv6)"?$/i, () => 'Enter an IP address.'],
  [/^must match pattern .*$/i, () => 'This contains characters that are not allowed here.'],
  [/^must be >= (-?[\d.]+)$/i, (n) => `Use ${n} or more.`],
  [/^must be > (-?[\d.]+)$/i, (n) => `Use more than ${n}.`],
  [/^must be <= (-?[\d.]+)$/i, (n) => `Use ${n} or less.`],
  [/^must be < (-?[\d.]+)$/i, (n) => `Use less than ${n}.`],
  [/^must be integer$/i, () => 'Use a whole number.'],
  [/^must be number$/i, () => 'Use a number.'],
  [/^must be boolean$/i, () => 'Choose yes or no.'],
  [/^must be string$/i, () => 'Enter text here.'],
  [/^must be (array|object|null)(,.*)?$/i, () => 'This value has the wrong form.'],
  [/^must be equal to one of the allowed values$/i, () => 'Choose one of the offered values.'],
  [/^must be one of (.+)$/i, (values) => `Choose one of ${values.replace(/"/g, '')}.`],
  [/^must be equal to constant$/i, () => 'This value is not accepted here.'],
  [/^must match exactly one schema in oneOf$|^must match a schema in anyOf$/i, () => 'This value has the wrong form.'],
  [/^is required$|^must have required property '?([^']*)'?$/i, () => 'This is required.'],
  [/^is not a known field$|^must NOT have additional properties$/i, () => 'This field is not accepted here.'],
  [/^must NOT be valid$/i, () => 'This value is not accepted here.'],
];

/** One validator message as a sentence. */
export function humanizeDetail(detail: string): string {
  const text = detail.trim();
  for (const [pattern, sentence] of RULES) {
    const m = pattern.exec(text);
    if (m) return sentence(...m.slice(1));
  }
  if (!text) return 'This value is not accepted.';
  const capital = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** "/credits/refill/amount" -> "Credits, refill, amount": a readable place when no field shows it. */
export function describePointer(pointer: string, labels: Record<string, string> = {}): string {
  if (labels[pointer]) return labels[pointer]!;
  const parts = pointer.split('/').filter(Boolean).filter((p) => !/^(body|query|params)$/.test(p));
  if (parts.length === 0) return 'The request';
  const words = parts.map((p) => (/^\d+$/.test(p) ? `item ${Number(p) + 1}` : p.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()));
  const first = words[0]!;
  return [first[0]!.toUpperCase() + first.slice(1), ...words.slice(1)].join(', ');
}

/**
 * The sentences for a problem's `errors[]`: "Name: use at most 100 characters." — for a banner,
 * where the message is not next to its field.
 */
export function problemSentences(errors: readonly { pointer: string; detail: string }[], labels: Record<string, string> = {}): string[] {
  return errors.map((e) => {
    const sentence = humanizeDetail(e.detail);
    return `${describePointer(e.pointer, labels)}: ${sentence[0]!.toLowerCase()}${sentence.slice(1)}`;
  });
}
