import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { chainOver, chainStart, chunkDigest, nextChain } from './hash-chain.ts';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe('recording hash chain', () => {
  it('digests chunk bytes as hex SHA-256', () => {
    assert.equal(chunkDigest(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(chunkDigest(new Uint8Array()), sha(''));
  });

  it('starts at the session id and links prev ":" digest', () => {
    assert.equal(chainStart('s-1'), 's-1');
    const d0 = chunkDigest(Buffer.from('zero'));
    const d1 = chunkDigest(Buffer.from('one'));
    const c0 = nextChain('s-1', d0);
    assert.equal(c0, sha(`s-1:${d0}`));
    assert.equal(nextChain(c0, d1), sha(`${c0}:${d1}`));
    assert.equal(chainOver('s-1', [d0, d1]), nextChain(c0, d1));
    assert.equal(chainOver('s-1', []), 's-1');
  });

  it('changes the head when chunks are swapped or the session differs', () => {
    const d = ['a', 'b'].map((s) => chunkDigest(Buffer.from(s)));
    assert.notEqual(chainOver('s', d), chainOver('s', [...d].reverse()));
    assert.notEqual(chainOver('s', d), chainOver('t', d));
  });
});
