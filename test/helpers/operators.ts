import type { Api } from './keyport.js';
import { apiClient } from './keyport.js';

export const PASSWORD = 'correct horse battery staple';

/** Signs in by e-mail and password; returns the session cookie and CSRF token. */
export async function signIn(baseUrl: string, email: string, password = PASSWORD): Promise<{ cookie: string; csrfToken: string; status: number; setCookie: string | null }> {
  const res = await fetch(`${baseUrl}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json();
  const setCookie = res.headers.get('set-cookie');
  return { status: res.status, setCookie, cookie: setCookie?.split(';')[0] ?? '', csrfToken: body.csrfToken };
}

/** Adds an operator to an account with a role (creating the operator) and returns a personal token of theirs. */
export async function operatorToken(kp: { api: Api; url: string }, account: string, email: string, role: string): Promise<{ token: string; operatorId: string }> {
  const added = await kp.api('POST', `/v1/accounts/${account}/members`, { email, role, name: email.split('@')[0], password: PASSWORD });
  if (added.status !== 201) throw new Error(`member add failed: ${added.status} ${JSON.stringify(added.body)}`);
  const session = await signIn(kp.url, email);
  const token = await fetch(`${kp.url}/v1/me/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    body: JSON.stringify({ name: 'tests' }),
  });
  const body = await token.json();
  if (token.status !== 201) throw new Error(`token failed: ${token.status} ${JSON.stringify(body)}`);
  return { token: body.token, operatorId: added.body.operatorId };
}

export const asToken = (baseUrl: string, token: string) => apiClient(baseUrl, token);
