import { createHash } from 'node:crypto';

// The recording hash chain: every chunk's digest is folded into a running chain so that
// modifying, dropping or reordering any chunk changes every later link and the head.
//   sha256_n = hex(SHA-256(bytes_n))
//   chain_n  = hex(SHA-256(chain_{n-1} + ":" + sha256_n)),  chain_{-1} = session id

/** Hex SHA-256 of one chunk's bytes. */
export function chunkDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The link that precedes chunk 0: the session id itself, so chains never transfer between sessions. */
export function chainStart(sessionId: string): string {
  return sessionId;
}

/** The chain value after appending a chunk whose digest is `digest`. */
export function nextChain(prev: string, digest: string): string {
  return createHash('sha256').update(`${prev}:${digest}`).digest('hex');
}

/** Chain head over a sequence of chunk digests (seq 0, 1, 2, …); `chainStart` for none. */
export function chainOver(sessionId: string, digests: Iterable<string>): string {
  let chain = chainStart(sessionId);
  for (const digest of digests) chain = nextChain(chain, digest);
  return chain;
}
