// The floor: the least a token endpoint can do on node:http. It parses the form, checks the client
// secret (HMAC-SHA-256 and a constant-time compare, like a stored hash), builds a JWT with
// ccauth's claim set and signs it RS256 with crypto.sign, and answers the token response. No
// framework, no store, no metrics. Its tokens/s at a connection count bounds what any Node
// service can reach on one core; it is a diagnostic reference, not a competitor.
// POST /Auth/connect/token-unsigned does all the same but the RSA signature (it sends a fixed
// one of the same length): what one request costs Node without the signature.
//
// Env: PORT (required), HOST (default 127.0.0.1). Prints one JSON document on stdout once
// listening: { listening, tokenPath, unsignedPath, clientId, clientSecret, scope }. Stops on SIGINT/SIGTERM.
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const host = process.env.HOST ?? '127.0.0.1';
const tokenPath = '/Auth/connect/token';
const unsignedPath = '/Auth/connect/token-unsigned';
const clientId = randomBytes(16).toString('hex');
const clientSecret = randomBytes(32).toString('base64url');
const hashKey = randomBytes(32);
const secretHash = createHmac('sha256', hashKey).update(clientSecret).digest();
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const base = `http://localhost:${port}`;
const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'floor-key-0123456789abcdefghijklmnopqrstuv', x5t: 'floorfloorfloorfloorfloorfl' })).toString('base64url');
const TTL = 900;
const FIXED_SIGNATURE = Buffer.alloc(256, 7).toString('base64url');

const server = createServer((req, res) => {
  const signed = req.url === tokenPath;
  if (req.method !== 'POST' || (!signed && req.url !== unsignedPath)) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const candidate = createHmac('sha256', hashKey).update(params.get('client_secret') ?? '').digest();
    if (params.get('grant_type') !== 'client_credentials' || params.get('client_id') !== clientId || !timingSafeEqual(candidate, secretHash)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
      return;
    }
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: `${base}/Auth`, aud: base, sub: clientId, client_id: clientId, scope: params.get('scope'), iat, nbf: iat, exp: iat + TTL, jti: randomUUID(), account_id: randomUUID(), region: 'emea', user_id: randomUUID() };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = signed ? sign('sha256', Buffer.from(input), privateKey).toString('base64url') : FIXED_SIGNATURE;
    const token = `${input}.${signature}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });
    res.end(`{"access_token":"${token}","expires_in":${TTL},"token_type":"Bearer","scope":${JSON.stringify(claims.scope)}}`);
  });
});
server.listen(port, host, () => {
  process.stdout.write(JSON.stringify({ listening: `http://${host}:${port}`, tokenPath, unsignedPath, clientId, clientSecret, scope: 'stats' }, null, 2) + '\n');
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
