/**
 * The longest names the API takes: the one list the contract's schemas, the portal's inputs
 * (maxLength) and their messages use. A module of its own with no imports, so the portal loads
 * only this.
 */
export const TEXT_LIMITS = Object.freeze({
  /** A key's name. */
  keyName: 100,
  /** A key's sales channel. */
  channel: 100,
  /** An account's name. */
  accountName: 200,
});
