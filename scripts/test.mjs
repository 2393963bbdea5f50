#!/usr/bin/env node
// `npm test`: makes sure the machine has what the suite needs, then runs node's test runner
// on every *.test.ts (or on the files given: `npm test -- test/api.test.ts`).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// Debian packages the suite drives for real (checked with dpkg, installed when missing).
const PACKAGES = ['postgresql', 'rabbitmq-server', 'ffmpeg', 'chromium', 'openssh-server', 'openssh-client', 'sshpass', 'xvfb', 'x11-apps', 'x11-utils', 'xdotool', 'openbox', 'xterm', 'forkstat', 'gcc', 'libc6-dev', 'python3', 'asciinema', 'freerdp2-x11', 'freerdp2-shadow-x11', 'winpr-utils', 'dbus-daemon'];

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const log = (msg) => process.stderr.write(`[npm test] ${msg}\n`);

function missingPackages() {
  return PACKAGES.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout?.includes('install ok installed') !== true);
}

function ensurePackages() {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages: ${missing.join(', ')}. Run as root: ${cmd}`);
    process.exit(1);
  }
  log(`installing ${missing.join(', ')}`);
  execFileSync('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${cmd}`], { stdio: 'inherit' });
}

function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

async function waitPort(port, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    if (await portOpen(port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function ensureService(name, port, start) {
  if (await portOpen(port)) return;
  log(`${name} is not answering on ${port}; starting it: ${start}`);
  spawnSync('bash', ['-c', start], { stdio: 'inherit' });
  if (!(await waitPort(port, 90))) {
    log(`${name} did not come up on port ${port}; start it by hand: ${start}`);
    process.exit(1);
  }
}

function findTests(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findTests(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out;
}

if (!process.env.VIGIL_TEST_SKIP_SETUP) {
  ensurePackages();
  const pgVersions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : [];
  if (!process.env.VIGIL_TEST_DATABASE_URL && pgVersions.length > 0) {
    await ensureService('PostgreSQL', 5432, `pg_ctlcluster --skip-systemctl-redirect ${pgVersions[0]} main start`);
  }
  if (!process.env.VIGIL_TEST_BUS_URL) await ensureService('RabbitMQ', 5672, 'rabbitmq-server -detached');
}

const args = process.argv.slice(2);
const files = args.length > 0 ? args : [...findTests(path.join(root, 'src')), ...findTests(path.join(root, 'test'))].sort();
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', ...files], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
