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
