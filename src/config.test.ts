import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.equal(c.httpHost, '127.0.0.1');
    assert.equal(c.httpPort, 8080);
    assert.equal(c.sshPort, 2222);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.busUrl, undefined);
    assert.ok(Object.isFrozen(c));
  });

  it('reads every variable of the contract', () => {
    const c = loadConfig({
      VIGIL_DATA_DIR: '/tmp/v', VIGIL_HTTP_HOST: '0.0.0.0', VIGIL_HTTP_PORT: '9000', VIGIL_SSH_PORT: '2200',
      VIGIL_DATABASE_URL: 'postgres://u@h/db', VIGIL_BUS_URL: 'amqp://g:g@h', VIGIL_ADMIN_PASSWORD: 'longenough', VIGIL_FFMPEG: '/usr/bin/ffmpeg',
    });
    assert.deepEqual([c.dataDir, c.httpHost, c.httpPort, c.sshPort, c.databaseUrl, c.busUrl, c.adminPassword, c.ffmpeg], ['/tmp/v', '0.0.0.0', 9000, 2200, 'postgres://u@h/db', 'amqp://g:g@h', 'longenough', '/usr/bin/ffmpeg']);
  });

  for (const [variable, value] of [
    ['VIGIL_HTTP_PORT', 'eighty'],
    ['VIGIL_HTTP_PORT', '70000'],
    ['VIGIL_SSH_PORT', '-1'],
    ['VIGIL_DATABASE_URL', 'mysql://x'],
    ['VIGIL_BUS_URL', 'http://x'],
    ['VIGIL_ADMIN_PASSWORD', 'short'],
    ['VIGIL_MASTER_KEY', 'abc'],
    ['VIGIL_LOG_LEVEL', 'loud'],
  ] as const) {
    it(`rejects ${variable}=${value} naming the variable`, () => {
      assert.throws(() => loadConfig({ [variable]: value }), (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.startsWith(`invalid configuration: ${variable} `));
    });
  }
});
