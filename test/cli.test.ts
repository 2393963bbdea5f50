import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from './helpers/stores.ts';

const BIN = path.resolve('bin/vigil.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function run(env: Record<string, string>, args = ['server']): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', VIGIL_LOG_LEVEL: 'warn', VIGIL_SSH_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('vigil server (the real CLI)', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('stops with one line naming a bad variable', async () => {
    const p = run({ VIGIL_HTTP_PORT: 'eighty', VIGIL_DATA_DIR: tmp.dir });
    assert.equal(await p.exit, 2);
    assert.equal(p.err().trim().split('\n').length, 1);
    assert.match(p.err(), /VIGIL_HTTP_PORT/);
  });

  it('stops with one clear line when the database is unreachable', async () => {
    const port = await freePort();
    const p = run({ VIGIL_DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/x`, VIGIL_DATA_DIR: tmp.dir, VIGIL_HTTP_PORT: '0' });
    assert.equal(await p.exit, 1);
    const lines = p.err().trim().split('\n');
    assert.equal(lines.length, 1, p.err());
    assert.match(lines[0]!, /cannot reach PostgreSQL/);
    assert.doesNotMatch(lines[0]!, /pw@/, 'the password in the URL is not printed');
  });

  it('stops with one clear line when the broker is unreachable', async () => {
    const port = await freePort();
    const p = run({ VIGIL_BUS_URL: `amqp://guest:guest@127.0.0.1:${port}`, VIGIL_DATA_DIR: path.join(tmp.dir, 'b'), VIGIL_HTTP_PORT: '0' });
    assert.equal(await p.exit, 1);
    assert.equal(p.err().trim().split('\n').length, 1, p.err());
    assert.match(p.err(), /RabbitMQ|broker|amqp/i);
  });

  it('starts on SQLite, prints a generated admin password once, answers health, and stops on SIGTERM', async () => {
    const dataDir = path.join(tmp.dir, 'fresh');
    const port = await freePort();
    const first = run({ VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: String(port) });
    await waitFor(() => first.out().includes('listening'));
    const password = /\n\s{4}(\S+)\n/.exec(first.out())?.[1];
    assert.ok(password, first.out());
    const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    assert.equal(login.status, 200);
    assert.ok(fs.existsSync(path.join(dataDir, 'vigil.sqlite')));
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);

    const second = run({ VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: String(port) });
    await waitFor(() => second.out().includes('listening'));
    assert.doesNotMatch(second.out(), /password/);
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0);
  });
});
