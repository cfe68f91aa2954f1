import type { QuickstartSample } from '../contract/keys.js';
import type { KeyRecord } from '../domain/model.js';

/**
 * Ready-to-run samples for a key (curl, JavaScript fetch, Python requests), with the server's real
 * URLs and a placeholder for the secret, which only its holder knows.
 */
export function quickstartSamples(key: KeyRecord, baseUrl: string): QuickstartSample[] {
  const tokenUrl = `${baseUrl}/oauth/token`;
  const whoamiUrl = `${baseUrl}/v1/whoami`;
  if (key.credentialType === 'client_secret') {
    const id = key.clientId!;
    return [
      {
        language: 'curl',
        title: 'Get an access token, then call the API with it (uses $CLIENT_SECRET when it is set)',
        code: [
          `CLIENT_SECRET="\${CLIENT_SECRET:-<YOUR_CLIENT_SECRET>}"`,
          `RESPONSE=$(curl -s -u '${id}':"$CLIENT_SECRET" -d grant_type=client_credentials '${tokenUrl}')`,
          `TOKEN=$(printf '%s' "$RESPONSE" | sed -nE 's/.*"access_token":"([^"]+)".*/\\1/p')`,
          `if [ -n "$TOKEN" ]; then`,
          `  curl -s --fail-with-body -w '\\n' -H "Authorization: Bearer $TOKEN" '${whoamiUrl}'`,
          `else`,
          `  echo "The token request failed: $RESPONSE" >&2; false`,
          `fi`,
        ].join('\n'),
      },
      {
        language: 'javascript',
        title: 'Node.js 18+, as an ES module (quickstart.mjs); uses CLIENT_SECRET from the environment when it is set',
        code: [
          `const clientId = '${id}';`,
          `const clientSecret = process.env.CLIENT_SECRET ?? '<YOUR_CLIENT_SECRET>';`,
          `const res = await fetch('${tokenUrl}', {`,
          `  method: 'POST',`,
          `  headers: {`,
          `    Authorization: 'Basic ' + Buffer.from(\`\${clientId}:\${clientSecret}\`).toString('base64'),`,
          `    'Content-Type': 'application/x-www-form-urlencoded',`,
          `  },`,
          `  body: 'grant_type=client_credentials',`,
          `});`,
          `const token = await res.json();`,
          `if (!res.ok) throw new Error(\`The token request failed (\${res.status} \${token.error}): \${token.error_description}\`);`,
          `const me = await fetch('${whoamiUrl}', { headers: { Authorization: \`Bearer \${token.access_token}\` } });`,
          `const answer = await me.json();`,
          `if (!me.ok) throw new Error(\`The call failed (\${me.status} \${answer.code}): \${answer.detail}\`);`,
          `console.log(answer);`,
        ].join('\n'),
      },
      {
        language: 'python',
        title: 'Python 3 with requests; uses CLIENT_SECRET from the environment when it is set',
        code: [
          `import os, sys, requests`,
          ``,
          `client_id = '${id}'`,
          `client_secret = os.environ.get('CLIENT_SECRET', '<YOUR_CLIENT_SECRET>')`,
          `res = requests.post('${tokenUrl}', data={'grant_type': 'client_credentials'},`,
          `                    auth=(client_id, client_secret))`,
          `token = res.json()`,
          `if not res.ok:`,
          `    sys.exit(f"The token request failed ({res.status_code} {token.get('error')}): {token.get('error_description')}")`,
          `me = requests.get('${whoamiUrl}', headers={'Authorization': f"Bearer {token['access_token']}"})`,
          `if not me.ok:`,
          `    sys.exit(f"The call failed ({me.status_code} {me.json().get('code')}): {me.json().get('detail')}")`,
          `print(me.json())`,
        ].join('\n'),
      },
    ];
  }
  return [
    {
      language: 'curl',
      title: 'Call the API with the key as a bearer token (uses $API_KEY when it is set)',
      code: [
        `API_KEY="\${API_KEY:-<YOUR_API_KEY>}"`,
        `curl -s --fail-with-body -w '\\n' -H "Authorization: Bearer $API_KEY" '${whoamiUrl}'`,
      ].join('\n'),
    },
    {
      language: 'javascript',
      title: 'Node.js 18+, as an ES module (quickstart.mjs); uses API_KEY from the environment when it is set',
      code: [
        `const apiKey = process.env.API_KEY ?? '<YOUR_API_KEY>';`,
        `const res = await fetch('${whoamiUrl}', { headers: { Authorization: \`Bearer \${apiKey}\` } });`,
        `const answer = await res.json();`,
        `if (!res.ok) throw new Error(\`The call failed (\${res.status} \${answer.code}): \${answer.detail}\`);`,
        `console.log(answer);`,
      ].join('\n'),
    },
    {
      language: 'python',
      title: 'Python 3 with requests; uses API_KEY from the environment when it is set',
      code: [
        `import os, sys, requests`,
        ``,
        `api_key = os.environ.get('API_KEY', '<YOUR_API_KEY>')`,
        `res = requests.get('${whoamiUrl}', headers={'Authorization': f'Bearer {api_key}'})`,
        `if not res.ok:`,
        `    sys.exit(f"The call failed ({res.status_code} {res.json().get('code')}): {res.json().get('detail')}")`,
        `print(res.json())`,
      ].join('\n'),
    },
  ];
}
