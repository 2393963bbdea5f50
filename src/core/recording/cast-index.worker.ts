import { parentPort } from 'node:worker_threads';
import { buildCastIndex, type BuiltCastIndex } from './cast-index.ts';
import type { FromWorker, ToWorker } from './cast-index-worker.ts';

/**
 * The worker thread of CastIndexWorker: builds one seek index at a time, reading the recording
 * from the main thread a chunk at a time (it asks for the next when it has taken the last).
 */
const port = parentPort!;
let waiting: { resolve(r: IteratorResult<Buffer>): void; reject(err: Error): void } | null = null;

const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

async function run(id: number, previous: BuiltCastIndex | undefined): Promise<void> {
  const read = (start: number): AsyncIterable<Buffer> => ({
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<Buffer>>((resolve, reject) => {
          waiting = { resolve, reject };
          post({ type: 'more', id, start });
        }),
    }),
  });
  try {
    const built = await buildCastIndex(read, previous);
    const snapshots = new Uint8Array(built.snapshots); // its own buffer, to hand over without a copy
    post({ type: 'done', id, index: built.index, snapshots }, [snapshots.buffer]);
  } catch (err) {
    post({ type: 'failed', id, message: err instanceof Error ? err.message : String(err) });
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'build':
      void run(m.id, m.previous ? { index: m.previous.index, snapshots: asBuffer(m.previous.snapshots) } : undefined);
      break;
    case 'chunk':
      waiting?.resolve({ value: asBuffer(m.data), done: false });
      break;
    case 'end':
      waiting?.resolve({ value: undefined, done: true });
      break;
    case 'read-failed':
      waiting?.reject(new Error(m.message));
      break;
  }
});
