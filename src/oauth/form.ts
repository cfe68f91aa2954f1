import { InvalidRequest } from './errors.js';

/**
 * The parameters of an `application/x-www-form-urlencoded` request body (RFC 6749 appendix B).
 * RFC 6749 3.1: a parameter sent without a value counts as omitted, and none may be repeated
 * (except where an extension says so, like RFC 8707 `resource`).
 */
export class FormParams {
  private constructor(private readonly params: URLSearchParams) {}

  static parse(body: string | undefined): FormParams {
    return new FormParams(new URLSearchParams(body ?? ''));
  }

  /** The single value of `name`, or undefined when absent or empty; repeating it is an error. */
  get(name: string): string | undefined {
    const values = this.params.getAll(name).filter((v) => v !== '');
    if (values.length > 1) throw new InvalidRequest(`The '${name}' parameter is repeated; send it once.`);
    return values[0];
  }

  /** Every non-empty value of a parameter that may repeat. */
  getAll(name: string): string[] {
    return this.params.getAll(name).filter((v) => v !== '');
  }

  /** The value of a required parameter. */
  require(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new InvalidRequest(`The '${name}' parameter is required.`);
    return value;
  }
}

/** A request to one of the OAuth endpoints, as the HTTP layer hands it over. */
export interface OAuthRequest {
  params: FormParams;
  authorization: string | undefined;
  sourceAddress: string;
  /** The public base URL: issuers and the default audience derive from it. */
  baseUrl: string;
}
