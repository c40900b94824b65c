// Route schemas compiled on first use (src/http/lazy-compilers.ts) must behave as Fastify's own
// compilers do (coercion, defaults, errors, the response's fields), be left out of start-up, and
// still be reported at once when one cannot be compiled.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Fastify from 'fastify';
import { compilePending, lazyCompilersFactory, pendingCompilers } from '../../src/http/lazy-compilers.js';

function app() {
  const f = Fastify({ schemaController: { compilersFactory: lazyCompilersFactory() } });
  f.get(
    '/items',
    {
      schema: {
        querystring: { type: 'object', properties: { n: { type: 'integer', minimum: 1 }, tag: { type: 'string', default: 'none' } }, required: ['n'] },
        response: { 200: { type: 'object', properties: { n: { type: 'integer' }, tag: { type: 'string' } } } },
      },
    },
    async (request) => ({ ...(request.query as object), secret: 'not in the schema' }),
  );
  return f;
}

it('a route schema is built on first use, and validates and serializes as Fastify does', async () => {
  const f = app();
  await f.ready();
  await compilePending(); // whatever earlier tests in this process left
  const f2 = app();
  await f2.ready();
  assert.ok(pendingCompilers() >= 2, 'validator and serializer not built at ready');
  try {
    const ok = await f2.inject({ url: '/items?n=5' });
    assert.equal(ok.statusCode, 200);
    // Coerced to a number, the default filled in, a field outside the response schema dropped.
    assert.deepEqual(JSON.parse(ok.body), { n: 5, tag: 'none' });
    const bad = await f2.inject({ url: '/items?n=0' });
    assert.equal(bad.statusCode, 400);
    assert.match(JSON.parse(bad.body).message, /querystring\/n must be >= 1/);
    const missing = await f2.inject({ url: '/items' });
    assert.equal(missing.statusCode, 400);
    assert.match(JSON.parse(missing.body).message, /must have required property 'n'/);
  } finally {
    await f.close();
    await f2.close();
  }
});

it('compilePending builds the rest, and rejects on a schema that cannot be compiled', async () => {
  const f = app();
  await f.ready();
  assert.ok(pendingCompilers() > 0);
  await compilePending();
  assert.equal(pendingCompilers(), 0);

  const broken = Fastify({ schemaController: { compilersFactory: lazyCompilersFactory() } });
  broken.get('/broken', { schema: { querystring: { type: 'object', properties: { n: { type: 'no-such-type' } } } } }, async () => ({}));
  await broken.ready(); // lazy: start-up does not compile it
  try {
    await assert.rejects(compilePending(), /no-such-type|schema is invalid/);
    // The route itself answers 500, not a pass.
    const res = await broken.inject({ url: '/broken?n=1' });
    assert.equal(res.statusCode, 500);
  } finally {
    await f.close();
    await broken.close();
  }
});
