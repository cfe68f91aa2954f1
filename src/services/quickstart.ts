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
        title: 'Get an access token, then call the API with it',
        code: [
          `CLIENT_SECRET='<YOUR_CLIENT_SECRET>'`,
          `TOKEN=$(curl -s -u '${id}':"$CLIENT_SECRET" -d grant_type=client_credentials '${tokenUrl}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
          `curl -s -H "Authorization: Bearer $TOKEN" '${whoamiUrl}'`,
        ].join('\n'),
      },
      {
        language: 'javascript',
        title: 'Node.js 18+ or a browser-free runtime with fetch',
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
          `const { access_token } = await res.json();`,
          `const me = await fetch('${whoamiUrl}', { headers: { Authorization: \`Bearer \${access_token}\` } });`,
          `console.log(await me.json());`,
        ].join('\n'),
      },
      {
        language: 'python',
        title: 'Python 3 with requests',
        code: [
          `import os, requests`,
          ``,
          `client_id = '${id}'`,
          `client_secret = os.environ.get('CLIENT_SECRET', '<YOUR_CLIENT_SECRET>')`,
          `token = requests.post('${tokenUrl}', data={'grant_type': 'client_credentials'},`,
          `                      auth=(client_id, client_secret)).json()['access_token']`,
          `print(requests.get('${whoamiUrl}', headers={'Authorization': f'Bearer {token}'}).json())`,
        ].join('\n'),
      },
    ];
  }
  return [
    {
      language: 'curl',
      title: 'Call the API with the key as a bearer token',
      code: [`API_KEY='<YOUR_API_KEY>'`, `curl -s -H "Authorization: Bearer $API_KEY" '${whoamiUrl}'`].join('\n'),
    },
    {
      language: 'javascript',
      title: 'Node.js 18+ with fetch',
      code: [
        `const apiKey = process.env.API_KEY ?? '<YOUR_API_KEY>';`,
        `const res = await fetch('${whoamiUrl}', { headers: { Authorization: \`Bearer \${apiKey}\` } });`,
        `console.log(await res.json());`,
      ].join('\n'),
    },
    {
      language: 'python',
      title: 'Python 3 with requests',
      code: [
        `import os, requests`,
        ``,
        `api_key = os.environ.get('API_KEY', '<YOUR_API_KEY>')`,
        `print(requests.get('${whoamiUrl}', headers={'Authorization': f'Bearer {api_key}'}).json())`,
      ].join('\n'),
    },
  ];
}
