import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { sendError } from '../src/server/http/errors.ts';
import { registerWebRoutes, safeRelative } from '../src/server/http/web/web.routes.ts';

/** The console's static serving, on a dist directory made here (no build, no browser). */
describe('web console routes', () => {
  let dir: string;
  let app: FastifyInstance;
  const accessOf: Record<string, unknown> = {};

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-web-'));
    fs.mkdirSync(path.join(dir, 'dist', 'assets'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'index.html'), '<!doctype html><title>Vigil</title><script type="module" src="/assets/index-AbCd1234.js"></script>');
    fs.writeFileSync(path.join(dir, 'dist', 'assets', 'index-AbCd1234.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'dist', 'assets', 'index-EfGh5678.css'), 'body{}');
    fs.writeFileSync(path.join(dir, 'dist', 'favicon.svg'), '<svg/>');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the dist directory');
    app = Fastify();
    app.addHook('onRoute', (r) => {
      accessOf[`${String(r.method)} ${r.url}`] = r.config?.access;
    });
    app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
    app.get('/api/v1/health', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
    registerWebRoutes(app, { distDir: path.join(dir, 'dist') });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('declares public access (the shell holds no data)', () => {
    assert.equal(accessOf['GET /*'], 'public');
  });

  it('serves index.html at / and for client-side routes, not cached', async () => {
    for (const url of ['/', '/settings', '/sessions/abc/recording?at=5000', '/users/']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.match(res.body, /<title>Vigil<\/title>/);
    }
  });

  it('serves hashed assets with their content type and a year of caching', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-AbCd1234.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    const css = await app.inject({ method: 'GET', url: '/assets/index-EfGh5678.css' });
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const svg = await app.inject({ method: 'GET', url: '/favicon.svg' });
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
    assert.equal(svg.headers['cache-control'], 'no-cache', 'unhashed files are revalidated');
  });

  it('answers 404 for missing assets, traversal and dot-files, and leaves /api and /metrics alone', async () => {
    for (const url of ['/assets/missing-12345678.js', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/a/..%5c..%5csecret.txt', '/.git/config', '/%00', '/%E0%A4%A']) {
      const res = await app.inject({ method: 'GET', url });
      // Fastify itself refuses a malformed percent-encoding with 400.
      assert.ok(res.statusCode === 404 || (url === '/%E0%A4%A' && res.statusCode === 400), `${url}: ${res.statusCode}`);
      assert.doesNotMatch(res.body, /outside the dist/, url);
    }
    for (const url of ['/api/v1/nope', '/api', '/metrics/x']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'not-found', url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/health' })).json<{ status: string }>().status, 'ok', 'registered API routes win over the console');
  });

  it('says how to build the console when web/dist is missing', async () => {
    const bare = Fastify();
    bare.setErrorHandler((err, req, reply) => sendError(req, reply, err));
    registerWebRoutes(bare, { distDir: path.join(dir, 'no-such-dist') });
    const res = await bare.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.json<{ error: { message: string } }>().error.message, /npm run build:web/);
    await bare.close();
  });

  it('maps URL paths to safe relative paths', () => {
    assert.equal(safeRelative('/assets/a.js'), 'assets/a.js');
    assert.equal(safeRelative('/'), '');
    assert.equal(safeRelative('//assets//a.js'), 'assets/a.js');
    for (const bad of ['/../x', '/a/%2e%2e/x', '/a\\b', '/%00', '/.env', '/%zz']) assert.equal(safeRelative(bad), null, bad);
  });
});
