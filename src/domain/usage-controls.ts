import ipaddr from 'ipaddr.js';
import Type, { type Static } from 'typebox';
import type { FieldError } from './errors.js';

/**
 * The usage controls of a key: the networks it may be used from (`ipAllowlist`), the credits it
 * may spend (`credits`, with an optional refill), and what it carries for the APIs that verify it
 * (`meta`, `externalId`). Pure: parsing, validation and the refill arithmetic; the store keeps the
 * count (see `storage/repositories.ts`, `spendCredits`).
 */

// -- IP allowlists -------------------------------------------------------------------------------

/** At most this many addresses and ranges on one key. */
export const MAX_ALLOWLIST_ENTRIES = 100;

export const IpAllowlistSchema = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: MAX_ALLOWLIST_ENTRIES,
  description: `IPv4 and IPv6 addresses and CIDR ranges (at most ${MAX_ALLOWLIST_ENTRIES}) the key may be used from; null: anywhere.`,
});

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A client address as a string, parsed strictly (four-part decimal IPv4, IPv6 without a zone). */
function parseAddress(text: string): Address | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) {
    const v6 = ipaddr.IPv6.parse(text);
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: they are IPv4 clients.
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return null;
}

/** Is `text` an IPv4 or IPv6 address, as /v1/verify's clientIp must be? */
export const isIpAddress = (text: string): boolean => parseAddress(text) !== null;

/**
 * Checks one allowlist entry and returns it in canonical form (`2001:DB8::/32` as `2001:db8::/32`,
 * a single address without a prefix), or what is wrong with it.
 */
export function parseAllowlistEntry(entry: string): { value: string } | { error: string } {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return { error: `'${entry}' is not an IPv4 or IPv6 address or CIDR range (like 203.0.113.0/24 or 2001:db8::/32)` };
  if (slash < 0) return { value: address.toString() };
  const max = address.kind() === 'ipv4' ? 32 : 128;
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return { error: `'${entry}': the prefix length of an ${address.kind() === 'ipv4' ? 'IPv4' : 'IPv6'} range is 0 to ${max}` };
  const cidr = `${address.toString()}/${prefix}`;
  const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  if (network.toString() !== address.toString())
    return { error: `'${entry}' has bits set after the prefix; the range is ${network.toString()}/${prefix}` };
  return { value: cidr };
}

/**
 * A key's allowlist as sent, checked: each entry canonical, duplicates dropped, or the errors
 * pointing at each bad entry (`/ipAllowlist/3`). null stays null (anywhere).
 */
export function checkIpAllowlist(entries: readonly string[] | null, pointer = '/ipAllowlist'): { value: string[] | null; errors: FieldError[] } {
  if (entries === null) return { value: null, errors: [] };
  const errors: FieldError[] = [];
  const values = new Set<string>();
  entries.forEach((entry, i) => {
    const parsed = parseAllowlistEntry(entry);
    if ('error' in parsed) errors.push({ pointer: `${pointer}/${i}`, detail: parsed.error });
    else values.add(parsed.value);
  });
  if (entries.length === 0) errors.push({ pointer, detail: 'an empty allowlist would refuse every request; send null to allow every address' });
  return { value: [...values], errors };
}

/** How many client addresses an allowlist remembers its answer for. */
const ANSWERS_REMEMBERED = 1024;

/**
 * An allowlist compiled once per cached credential. A client address is parsed on its first
 * request only: the answer for it is remembered (a bounded map from the address string), so
 * checking a gateway's usual clients allocates nothing.
 */
export class IpAllowlist {
  private readonly ranges: [Address, number][];
  private readonly answers = new Map<string, boolean>();

  constructor(readonly entries: readonly string[]) {
    this.ranges = entries.map((entry) => {
      const slash = entry.indexOf('/');
      const address = parseAddress(slash < 0 ? entry : entry.slice(0, slash))!;
      return [address, slash < 0 ? (address.kind() === 'ipv4' ? 32 : 128) : Number(entry.slice(slash + 1))];
    });
  }

  /** May a request from `clientIp` use the key? An unparsable address never may. */
  allows(clientIp: string): boolean {
    let answer = this.answers.get(clientIp);
    if (answer === undefined) {
      const address = parseAddress(clientIp);
      answer = address !== null && this.ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range as never, bits));
      if (this.answers.size >= ANSWERS_REMEMBERED) this.answers.clear();
      this.answers.set(clientIp, answer);
    }
    return answer;
  }
}

/** Addresses and CIDR ranges from a comma-separated setting (KEYPORT_TRUSTED_PROXIES); null when one is bad. */
export function parseAddressList(text: string): { value: IpAllowlist | null; errors: string[] } {
  const entries = text.split(',').map((s) => s.trim()).filter(Boolean);
  const errors: string[] = [];
  const values: string[] = [];
  for (const entry of entries) {
    const parsed = parseAllowlistEntry(entry);
    if ('error' in parsed) errors.push(parsed.error);
    else values.push(parsed.value);
  }
  return { value: errors.length || values.length === 0 ? null : new IpAllowlist(values), errors };
}

// -- credits -------------------------------------------------------------------------------------

export const REFILL_INTERVALS = ['day', 'month'] as const;
export type RefillInterval = (typeof REFILL_INTERVALS)[number];

/** The most credits a key can hold: far beyond any plan, and exact in a double and a BIGINT. */
export const MAX_CREDITS = 1_000_000_000_000;

export const CreditRefillSchema = Type.Object(
  {
    amount: Type.Integer({ minimum: 1, maximum: MAX_CREDITS, description: 'Credits the key holds again at the start of each interval.' }),
    interval: Type.Unsafe<RefillInterval>({ type: 'string', enum: REFILL_INTERVALS, description: 'day: every day at 00:00 UTC; month: every month on dayOfMonth at 00:00 UTC.' }),
    dayOfMonth: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 31, description: 'Monthly refills only (default 1). In shorter months, the last day of the month.' }),
    ),
  },
  { additionalProperties: false },
);
export type CreditRefill = Static<typeof CreditRefillSchema>;

export const CreditsSchema = Type.Object(
  {
    remaining: Type.Integer({ minimum: 0, maximum: MAX_CREDITS, description: 'Credits left: each verification uses its cost, each token request one.' }),
    refill: Type.Optional(Type.Unsafe<CreditRefill | null>({ ...CreditRefillSchema, type: ['object', 'null'] })),
  },
  { additionalProperties: false },
);
export type CreditsInput = Static<typeof CreditsSchema>;

/** A key's credits as stored: what is left, the refill rule, and when the last refill happened. */
export interface KeyCredits {
  remaining: number;
  refill: CreditRefill | null;
  /** Epoch ms: the start of the refill period the count belongs to (or when it was last set). */
  refilledAt: number;
}

/** Refuses a refill rule that cannot work (a day of the month on a daily refill), pointing at it. */
export function checkCredits(credits: CreditsInput | null, pointer = '/credits'): FieldError[] {
  const refill = credits?.refill;
  if (refill && refill.interval === 'day' && refill.dayOfMonth !== undefined)
    return [{ pointer: `${pointer}/refill/dayOfMonth`, detail: 'applies to monthly refills only: a daily refill happens every day at 00:00 UTC' }];
  return [];
}

/** The refill rule as stored: dayOfMonth only on monthly refills, 1 unless told. */
export const normalRefill = (refill: CreditRefill | null | undefined): CreditRefill | null =>
  refill ? (refill.interval === 'day' ? { amount: refill.amount, interval: 'day' } : { amount: refill.amount, interval: 'month', dayOfMonth: refill.dayOfMonth ?? 1 }) : null;

const DAY_MS = 86_400_000;
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
const monthlyRefillAt = (year: number, month: number, day: number) => Date.UTC(year, month, Math.min(day, daysInMonth(year, month)));

/** When the refill period holding `now` started: today's 00:00 UTC, or this (or last) month's refill day. */
export function refillPeriodStart(refill: CreditRefill, now: number): number {
  if (refill.interval === 'day') return now - (((now % DAY_MS) + DAY_MS) % DAY_MS);
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  const thisMonth = monthlyRefillAt(year, month, refill.dayOfMonth ?? 1);
  return thisMonth <= now ? thisMonth : monthlyRefillAt(month === 0 ? year - 1 : year, (month + 11) % 12, refill.dayOfMonth ?? 1);
}

/** When the next refill after `now` happens. */
export function nextRefillAt(refill: CreditRefill, now: number): number {
  if (refill.interval === 'day') return refillPeriodStart(refill, now) + DAY_MS;
  const start = new Date(refillPeriodStart(refill, now));
  const month = start.getUTCMonth();
  return monthlyRefillAt(month === 11 ? start.getUTCFullYear() + 1 : start.getUTCFullYear(), (month + 1) % 12, refill.dayOfMonth ?? 1);
}

/** The credits left at `now`: the stored count, or the refill amount once a refill is due. */
export function creditsAt(credits: KeyCredits, now: number): number {
  return credits.refill !== null && credits.refilledAt < refillPeriodStart(credits.refill, now) ? credits.refill.amount : credits.remaining;
}

/**
 * Has a spend taken the credits from above `threshold` to at or below it? The point where
 * "credits are running low" is raised once, not on every later use.
 */
export const crossedThreshold = (previous: number, remaining: number, threshold: number): boolean => previous > threshold && remaining <= threshold;

// -- metadata ------------------------------------------------------------------------------------

/** The largest `meta` a key carries, in bytes of its JSON. */
export const META_MAX_BYTES = 4096;

export const MetaSchema = Type.Unsafe<Record<string, unknown> | null>({
  type: ['object', 'null'],
  additionalProperties: true,
  description: `A JSON object of up to ${META_MAX_BYTES} bytes (plan, tenant, anything the API needs), returned by /v1/verify; null: none.`,
});

export const ExternalIdSchema = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 200,
  description: "The customer's own id for who owns the key (a user or organisation id of the platform); null: none.",
});

/** Refuses a meta object whose JSON is over the size bound. */
export function checkMeta(meta: Record<string, unknown> | null, pointer = '/meta'): FieldError[] {
  if (meta === null) return [];
  const bytes = new TextEncoder().encode(JSON.stringify(meta)).length;
  return bytes > META_MAX_BYTES ? [{ pointer, detail: `is ${bytes} bytes of JSON; at most ${META_MAX_BYTES} are kept` }] : [];
}
