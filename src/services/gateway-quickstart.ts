import type { QuickstartSample } from '../contract/keys.js';
import type { Key } from '../contract/keys.js';

/**
 * A gateway in front of the platform's API (nginx, Caddy, Traefik, Envoy) asks `/v1/authz` about
 * every call. The sample asks the same question for a call with this key, in its environment and
 * for its first scope (two at most), so an operator sees the answer the gateway gets. Secrets are
 * placeholders, filled in by whoever runs it.
 */
export function gatewaySample(key: Key, baseUrl: string): QuickstartSample {
  const scopes = key.grantedScopes.length > 0 ? key.grantedScopes.slice(0, 2).join(',') : '<SCOPE>';
  const authzUrl = `${baseUrl}/v1/authz?environment=${key.environment}&scopes=${scopes}`;
  const intro = [
    `# Behind your gateway: nginx (auth_request), Caddy (forward_auth), Traefik (forwardAuth) or Envoy`,
    `# (ext_authz) asks Keyport about every call to your API; docs/gateways/ has a configuration for each.`,
    `# This is the question it asks about a call with this key. It authenticates with a service token of`,
    `# the account (POST /v1/accounts/${key.accountId}/service-tokens).`,
    `SERVICE_TOKEN='<YOUR_SERVICE_TOKEN>'`,
  ];
  const outro = [
    `# 200 with X-Keyport-Account, X-Keyport-Key-Id, X-Keyport-Scopes...: the gateway lets the call through`,
    `# and hands these headers to your API. 401, 403 or 429 (X-Keyport-Code says why): the caller gets it.`,
  ];
  const ask = (credential: string) => [
    `curl -si -H "Keyport-Service-Token: $SERVICE_TOKEN" -H "Authorization: Bearer ${credential}" \\`,
    `     '${authzUrl}'`,
  ];
  const code =
    key.credentialType === 'client_secret'
      ? [
          ...intro,
          `CLIENT_SECRET='<YOUR_CLIENT_SECRET>'`,
          `# The caller trades the client ID and secret for an access token, and sends that to your API.`,
          `TOKEN=$(curl -s -u '${key.clientId}':"$CLIENT_SECRET" -d grant_type=client_credentials '${baseUrl}/oauth/token' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
          ...ask('$TOKEN'),
          ...outro,
        ]
      : [...intro, `API_KEY='<YOUR_API_KEY>'`, ...ask('$API_KEY'), ...outro];
  return { language: 'gateway', title: 'Behind your gateway: what it asks Keyport about each call', code: code.join('\n') };
}
