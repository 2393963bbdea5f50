import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError, UnavailableError } from '../../../core/errors.ts';

/** Where `vite build` (npm run build:web) writes the console. */
export const WEB_DIST_DIR = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths the console never answers: the API and the metrics endpoint keep their own 404s. */
const NOT_CONSOLE = /^\/(?:api(?:\/|$)|metrics(?:\/|$))/;
/** Vite names built assets `name-<hash>.ext`: their content never changes under that name. */
const HASHED = /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * Serves the admin console (web/dist) at `/`: files that exist are sent with their content type
 * (hashed assets cached for a year), any other path without a file extension is a client-side
 * route and gets index.html. The shell is public; everything it shows comes from the API, which
 * checks permissions on every call. The app's CSP and security headers apply to these answers too.
 */
export function registerWebRoutes(app: FastifyInstance, opts: { distDir: string }): void {
  const root = path.resolve(opts.distDir);

  const send = (reply: FastifyReply, file: string, rel: string) => {
    const ext = path.extname(file).toLowerCase();
    reply.header('content-type', CONTENT_TYPES[ext] ?? 'application/octet-stream');
    reply.header('cache-control', HASHED.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.send(fs.createReadStream(file));
  };

  app.route({
    method: 'GET',
    url: '/*',
    config: { access: 'public' },
    handler: async (req, reply) => {
      const pathname = req.url.split('?')[0]!;
      if (NOT_CONSOLE.test(pathname)) throw new NotFoundError(`route GET ${pathname}`);
      const rel = safeRelative(pathname);
      if (rel === null) throw new NotFoundError('file');
      if (rel !== '') {
        const file = path.join(root, rel);
        if (isFile(file)) return send(reply, file, rel);
        // A missing asset is a 404; a path without an extension is a page of the console.
        if (path.extname(rel) !== '') throw new NotFoundError('file');
      }
      const index = path.join(root, 'index.html');
      if (!isFile(index)) throw new UnavailableError('the web console is not built: run `npm run build:web` (npm start builds it when missing)');
      return send(reply, index, 'index.html');
    },
  });
}

/**
 * The URL path as a path relative to the dist directory, or null when it could leave it: encoded
 * or literal `..`, backslashes, NUL and dot-files are refused before touching the file system.
 */
export function safeRelative(pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p.startsWith('.'))) return null;
  return parts.join('/');
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
