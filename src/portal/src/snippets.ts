// Ready-to-run examples of a credential's first call: a token from the region's token endpoint,
// then one API request with it. The real secret goes in only where the page holds it (the one-time
// Success dialog); everywhere else a placeholder stands in its place.

export const SECRET_PLACEHOLDER = 'YOUR_CLIENT_SECRET';

export interface SnippetInput {
  publicUrl: string;
  tokenUrl: string;
  clientId: string;
  /** null: the placeholder. */
  clientSecret: string | null;
  scopes: string[];
}

export interface Snippet {
  id: 'curl' | 'node-client' | 'node-fetch' | 'python' | 'csharp';
  label: string;
  language: string;
  code: string;
}

function isoDay(offsetDays: number): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + offsetDays);
  return d.toISOString().replace('.000Z', 'Z');
}

/** A GET request each scope allows (SPEC 3, the APIs), or null for scopes that only write. */
export function sampleRequest(scope: string): string | null {
  switch (scope) {
    case 'agents-availability:read':
      return '/agents-availability?skillNames=English';
    case 'users:read':
      return '/useradmin/users?page=1&pageSize=10';
    case 'interaction-content:read':
      return `/conversation-analyzer/interactions?start=${isoDay(-1)}&end=${isoDay(0)}`;
    case 'stats':
      return `/stats/interactions?start=${isoDay(-1)}&end=${isoDay(0)}`;
    default:
      return null;
  }
}

/** The scope a token is asked for in the examples, and the call made with it. */
export function exampleCall(scopes: string[]): { scope: string; path: string | null } {
  for (const scope of scopes) {
    const path = sampleRequest(scope);
    if (path) return { scope, path };
  }
  return { scope: scopes[0] ?? '', path: null };
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const js = (s: string) => JSON.stringify(s);
const cs = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function snippets(input: SnippetInput): Snippet[] {
  const secret = input.clientSecret ?? SECRET_PLACEHOLDER;
  const { scope, path } = exampleCall(input.scopes);
  const base = input.publicUrl.replace(/\/+$/, '');
  const url = path ? `${base}${path}` : null;
  const accept = 'application/vnd.newvoicemedia.v1+json';

  const curl = [
    '# 1. Get an access token (client credentials grant)',
    `TOKEN=$(curl -s -X POST ${sq(input.tokenUrl)} \\`,
    `  -d grant_type=client_credentials \\`,
    `  --data-urlencode client_id=${sq(input.clientId)} \\`,
    `  --data-urlencode client_secret=${sq(secret)} \\`,
    `  --data-urlencode scope=${sq(scope)} | jq -r .access_token)`,
    '',
    url ? '# 2. Call the API with it' : `# 2. Call an API that accepts the scope ${scope}`,
    url ? `curl -s ${sq(url)} \\\n  -H "Authorization: Bearer $TOKEN" \\\n  -H 'Accept: ${accept}'` : `curl -s ${sq(`${base}/...`)} -H "Authorization: Bearer $TOKEN"`,
  ].join('\n');

  const nodeClient = [
    "// Node 20+, with the ccauth client package installed (ccauth/client)",
    "import { CcauthClient } from 'ccauth/client';",
    '',
    'const client = new CcauthClient({',
    `  baseUrl: ${js(base)},`,
    `  clientId: ${js(input.clientId)},`,
    `  clientSecret: ${input.clientSecret ? js(secret) : `process.env.CCAUTH_CLIENT_SECRET ?? ${js(SECRET_PLACEHOLDER)}`},`,
    `  scope: ${js(scope)},`,
    '});',
    '',
    '// Tokens are cached and renewed before they expire.',
    url ? `const response = await client.fetch(${js(path ?? '')});` : 'const token = await client.getAccessToken();',
    url ? 'console.log(response.status, await response.json());' : 'console.log(token);',
  ].join('\n');

  const nodeFetch = [
    `const tokenResponse = await fetch(${js(input.tokenUrl)}, {`,
    "  method: 'POST',",
    "  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },",
    '  body: new URLSearchParams({',
    "    grant_type: 'client_credentials',",
    `    client_id: ${js(input.clientId)},`,
    `    client_secret: ${js(secret)},`,
    `    scope: ${js(scope)},`,
    '  }),',
    '});',
    'const { access_token, expires_in } = await tokenResponse.json();',
    '// Reuse the token until it expires (expires_in seconds).',
    '',
    url ? `const response = await fetch(${js(url)}, {` : `// Call an API that accepts the scope ${scope}:`,
    url ? `  headers: { Authorization: \`Bearer \${access_token}\`, Accept: ${js(accept)} },` : `// fetch(${js(`${base}/...`)}, { headers: { Authorization: \`Bearer \${access_token}\` } })`,
    url ? '});' : '',
    url ? 'console.log(response.status, await response.json());' : '',
  ]
    .filter((line, i, all) => !(line === '' && i === all.length - 1))
    .join('\n')
    .replace(/\n+$/, '');

  const python = [
    'import requests',
    '',
    'token = requests.post(',
    `    ${js(input.tokenUrl)},`,
    '    data={',
    '        "grant_type": "client_credentials",',
    `        "client_id": ${js(input.clientId)},`,
    `        "client_secret": ${js(secret)},`,
    `        "scope": ${js(scope)},`,
    '    },',
    '    timeout=10,',
    ').json()["access_token"]',
    '',
    url ? `response = requests.get(\n    ${js(url)},\n    headers={"Authorization": f"Bearer {token}", "Accept": ${js(accept)}},\n    timeout=10,\n)` : `# Call an API that accepts the scope ${scope} with the header Authorization: Bearer <token>`,
    url ? 'print(response.status_code, response.json())' : '',
  ]
    .join('\n')
    .replace(/\n+$/, '');

  const csharp = [
    'using System.Net.Http.Headers;',
    'using System.Text.Json;',
    '',
    'using var http = new HttpClient();',
    'var form = new FormUrlEncodedContent(new Dictionary<string, string>',
    '{',
    '    ["grant_type"] = "client_credentials",',
    `    ["client_id"] = ${cs(input.clientId)},`,
    `    ["client_secret"] = ${cs(secret)},`,
    `    ["scope"] = ${cs(scope)},`,
    '});',
    `var tokenResponse = await http.PostAsync(${cs(input.tokenUrl)}, form);`,
    'tokenResponse.EnsureSuccessStatusCode();',
    'using var json = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync());',
    'var token = json.RootElement.GetProperty("access_token").GetString();',
    '',
    'http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);',
    url ? `http.DefaultRequestHeaders.Accept.ParseAdd(${cs(accept)});` : `// Call an API that accepts the scope ${scope}.`,
    url ? `var response = await http.GetAsync(${cs(url)});` : '',
    url ? 'Console.WriteLine($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");' : '',
  ]
    .join('\n')
    .replace(/\n+$/, '');

  return [
    { id: 'curl', label: 'curl', language: 'shell', code: curl },
    { id: 'node-client', label: 'Node (ccauth/client)', language: 'javascript', code: nodeClient },
    { id: 'node-fetch', label: 'Node (fetch)', language: 'javascript', code: nodeFetch },
    { id: 'python', label: 'Python (requests)', language: 'python', code: python },
    { id: 'csharp', label: 'C# (HttpClient)', language: 'csharp', code: csharp },
  ];
}
