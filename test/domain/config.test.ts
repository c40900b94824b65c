import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  it('has the defaults of SPEC 4', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.region, 'emea');
    assert.equal(c.publicUrl, 'http://localhost:8080');
    assert.equal(c.issuer, 'http://localhost:8080/Auth');
    assert.equal(c.databaseUrl, undefined);
    assert.match(c.dataDir, /\/data$/);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.trustProxy, false);
    assert.equal(c.metricsAddr, undefined);
  });
  it('reads CCAUTH_TRUST_PROXY as a hop count or a list of addresses and ranges (true is one hop)', () => {
    assert.equal(loadConfig({ CCAUTH_TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(loadConfig({ CCAUTH_TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ CCAUTH_TRUST_PROXY: '0' }).trustProxy, false);
    assert.equal(loadConfig({ CCAUTH_TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ CCAUTH_TRUST_PROXY: '10.0.0.0/8, ::1, loopback' }).trustProxy, ['10.0.0.0/8', '::1', 'loopback']);
    assert.throws(() => loadConfig({ CCAUTH_TRUST_PROXY: '10.0.0.0/40' }), /CCAUTH_TRUST_PROXY/);
  });
  it('reads CCAUTH_METRICS_ADDR as host:port', () => {
    assert.deepEqual(loadConfig({ CCAUTH_METRICS_ADDR: '127.0.0.1:9464' }).metricsAddr, { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(loadConfig({ CCAUTH_METRICS_ADDR: '[::1]:9464' }).metricsAddr, { host: '::1', port: 9464 });
    assert.deepEqual(loadConfig({ CCAUTH_METRICS_ADDR: ':9464' }).metricsAddr, { host: '127.0.0.1', port: 9464 });
    for (const bad of ['9464', 'host', '127.0.0.1:99999', '::1:9464']) assert.throws(() => loadConfig({ CCAUTH_METRICS_ADDR: bad }), /CCAUTH_METRICS_ADDR/, bad);
  });
  it('derives the issuer from CCAUTH_PUBLIC_URL without a trailing slash', () => {
    const c = loadConfig({ CCAUTH_PUBLIC_URL: 'https://emea.example.test/', CCAUTH_REGION: 'nam', PORT: '9000' });
    assert.equal(c.issuer, 'https://emea.example.test/Auth');
    assert.equal(c.region, 'nam');
    assert.equal(c.port, 9000);
  });
  it('flags override the environment', () => {
    assert.equal(loadConfig({ PORT: '9000' }, { port: '9100' }).port, 9100);
  });
  it('names the variable of every bad value', () => {
    assert.throws(() => loadConfig({ PORT: 'abc' }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({ CCAUTH_REGION: 'EMEA!' }), /CCAUTH_REGION/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ CCAUTH_PUBLIC_URL: 'not a url' }), /CCAUTH_PUBLIC_URL/);
  });
});
