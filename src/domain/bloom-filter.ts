/**
 * A Bloom filter of SHA-256 hashes (hex), the set of secret hashes the store holds: "no" is
 * certain, "maybe" is wrong for about 1 % of absent hashes while the filter holds no more than its
 * capacity. Nothing is ever removed (a deleted key stays a "maybe": one store read, then the
 * negative cache); the owner rebuilds it once it is over capacity.
 *
 * The hashes are uniformly random already, so the k bit positions come from the hash itself by
 * double hashing (Kirsch and Mitzenmacher): position i is h1 + i·h2 modulo the size, with h1 and h2
 * read from its first 16 hex digits. No further hashing per lookup.
 */
export class BloomFilter {
  /** 10 bits and 7 positions per entry: about 0.8 % false positives at capacity. */
  static readonly BITS_PER_ENTRY = 10;
  static readonly POSITIONS = 7;
  private readonly bits: Uint32Array;
  private readonly size: number;
  /** Hashes added (each counted once per add, so a repeat counts again: an upper bound). */
  private added = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    this.size = capacity * BloomFilter.BITS_PER_ENTRY;
    this.bits = new Uint32Array(Math.ceil(this.size / 32));
  }

  /** Hashes added so far (an upper bound on those held). */
  get count(): number {
    return this.added;
  }

  /** More hashes were added than it was sized for: its false-positive rate is rising. */
  get full(): boolean {
    return this.added > this.capacity;
  }

  /** Bytes of the bit array. */
  get bytes(): number {
    return this.bits.byteLength;
  }

  /** Adds a hash (64 hex digits); anything else is refused, as it would not spread over the bits. */
  add(hash: string): void {
    if (!isHexHash(hash)) throw new RangeError('a Bloom filter entry is a SHA-256 hash in hex');
    const { size, bits } = this;
    const step = h2(hash);
    for (let i = 0, at = h1(hash) % size; i < BloomFilter.POSITIONS; i++, at = (at + step) % size) bits[at >>> 5]! |= 1 << (at & 31);
    this.added++;
  }

  /** False when the hash (a SHA-256 in hex, as `hashKeyString` makes) was certainly never added. */
  mayContain(hash: string): boolean {
    const { size, bits } = this;
    const step = h2(hash);
    for (let i = 0, at = h1(hash) % size; i < BloomFilter.POSITIONS; i++, at = (at + step) % size) if ((bits[at >>> 5]! & (1 << (at & 31))) === 0) return false;
    return true;
  }
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/** Is this a SHA-256 hash in hex, as the filter takes? */
export const isHexHash = (value: string) => value.length === 64 && HEX_HASH.test(value);

/** The two hash functions of double hashing, read from the hash's first 64 bits; h2 is odd, so never 0. */
const h1 = (hash: string) => Number.parseInt(hash.slice(0, 8), 16);
const h2 = (hash: string) => (Number.parseInt(hash.slice(8, 16), 16) | 1) >>> 0;
