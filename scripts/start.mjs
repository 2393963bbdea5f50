#!/usr/bin/env node
// `npm start`: builds the web console (web/dist) when it is missing or older than its sources,
// then runs `vigil server` with the arguments given (`npm start -- --roles api`).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const index = path.join(web, 'dist', 'index.html');

/** Newest modification time under `dir` (sources of the console, and the protocol it imports). */
function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

export function webBuildNeeded() {
  if (!fs.existsSync(index)) return 'missing';
  const built = fs.statSync(index).mtimeMs;
  return newest(web) > built || newest(path.join(root, 'src', 'protocol')) > built ? 'stale' : null;
}

export function buildWeb() {
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!fs.existsSync(vite)) {
    console.error('[npm start] vite is not installed: run `npm install` first');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [vite, 'build', web, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[npm start] building the web console failed');
    process.exit(r.status ?? 1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const why = webBuildNeeded();
  if (why) {
    console.error(`[npm start] web console ${why === 'missing' ? 'not built yet' : 'sources changed'}: building web/dist`);
    buildWeb();
  }
  if (process.argv.includes('--build-only')) process.exit(0);
  const child = spawn(process.execPath, [path.join(root, 'bin', 'vigil.js'), 'server', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
