import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import xtermHeadless from '@xterm/headless';
import { parseCastEvents, type CastEvent } from '../../protocol/cast-index.ts';
import { buildCastIndex } from './cast-index.ts';
import { CastIndexWorker } from './cast-index-worker.ts';

/** A cast with colours, a scroll region, the alternate screen, a resize and 1.5 MB of output. */
function cast(): Buffer {
  const lines = [JSON.stringify({ version: 2, width: 80, height: 24 }), JSON.stringify([0.1, 'o', '\x1b[1;1HTOP-BAR\x1b[2;24r\x1b[24;1H'])];
  let t = 1;
  for (let i = 0; i < 3000; i++, t += 1.5) {
    lines.push(JSON.stringify([t, 'i', 'x']));
    if (i % 500 === 250) lines.push(JSON.stringify([t, 'o', '\x1b[?1049h\x1b[H\x1b[2Jfull-screen app\x1b[5;5Hcell']));
    else if (i % 500 === 260) lines.push(JSON.stringify([t, 'o', '\x1b[?1049l']));
    else if (i === 1700) lines.push(JSON.stringify([t, 'r', '100x30']));
    else lines.push(JSON.stringify([t, 'o', `\x1b[3${i % 8}mline-${i}\x1b[0m ${'é'.repeat(i % 7)}${'.'.repeat(480)}\r\n`]));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

const source = (data: Buffer) =>
  async function* (start: number) {
    for (let i = start; i < data.length; i += 100_000) yield data.subarray(i, Math.min(data.length, i + 100_000));
  };

async function screenOf(cols: number, rows: number, snapshot: string, events: CastEvent[], until: number): Promise<string> {
  const term = new xtermHeadless.Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
  const write = (d: string) => new Promise<void>((r) => term.write(d, r));
  let pending = snapshot;
  for (const e of events) {
    if (e.at > until) break;
    if (e.kind === 'o') pending += e.data;
    else {
      await write(pending);
      pending = '';
      term.resize(e.cols, e.rows);
    }
  }
  await write(pending);
  const buf = term.buffer.active;
  const out = [`${buf.type} ${term.cols}x${term.rows} cursor ${buf.cursorX},${buf.cursorY}`];
  for (let y = 0; y < term.rows; y++) out.push(buf.getLine(buf.viewportY + y)?.translateToString(true) ?? '');
  // The scroll region survives: a line written at the bottom must scroll below row 1 only.
  await write('\x1b[999;1H\r\nprobe');
  out.push(buf.getLine(buf.viewportY)?.translateToString(true) ?? '');
  term.dispose();
  return out.join('\n');
}

describe('cast seek index', () => {
  it('restoring a keyframe and replaying its segment gives the same screen as replaying from the start', async () => {
    const data = cast();
    const { index, snapshots } = await buildCastIndex(source(data));
    assert.equal(index.size, data.length);
    assert.ok(index.keyframes.length >= 20, `keyframes: ${index.keyframes.length}`);
    const header = data.indexOf(0x0a) + 1;
    const all = parseCastEvents(data.toString('utf8', header), 2).events;
    assert.equal(index.durationMs, all.at(-1)!.at);
    for (const target of [0, 377_000, 376_000 + 750, 1_500_000, 2_551_000, 3_000_000, 4_499_000]) {
      let k = 0;
      while (k + 1 < index.keyframes.length && index.keyframes[k + 1]!.at <= target) k++;
      const kf = index.keyframes[k]!;
      const end = index.keyframes[k + 1]?.offset ?? data.length;
      const segment = parseCastEvents(data.toString('utf8', kf.offset, end), 2, kf.at).events;
      const snapshot = snapshots.toString('utf8', kf.snapshot[0], kf.snapshot[0] + kf.snapshot[1]);
      const fromKeyframe = await screenOf(kf.cols, kf.rows, snapshot, segment, target);
      const fromStart = await screenOf(index.cols, index.rows, '', all, target);
      assert.equal(fromKeyframe, fromStart, `at ${target} (keyframe ${k} at ${kf.at})`);
    }
  });

  it('extends an index built over a growing recording exactly as a full build would', async () => {
    const data = cast();
    const cut = Math.floor(data.length * 0.6) + 7; // inside a line
    const partial = await buildCastIndex(source(data.subarray(0, cut)));
    assert.ok(partial.index.size < cut && partial.index.scanned === cut, 'the half line is not covered');
    const extended = await buildCastIndex(source(data), partial);
    const full = await buildCastIndex(source(data));
    assert.deepEqual(extended.index, full.index);
    assert.ok(extended.snapshots.equals(full.snapshots));
  });

  it('refuses what is not an asciicast', async () => {
    await assert.rejects(buildCastIndex(source(Buffer.from('<html>\n'))), /not an asciicast/);
  });
});

describe('cast seek index on a worker thread', () => {
  it('builds and extends the same index as on the calling thread, reading there; errors come back as errors', async () => {
    const data = cast();
    const worker = new CastIndexWorker();
    try {
      const reads: number[] = [];
      const counted = (start: number) => {
        reads.push(start);
        return source(data)(start);
      };
      const here = await buildCastIndex(source(data));
      const there = await worker.build(counted);
      assert.deepEqual(there.index, here.index);
      assert.ok(Buffer.isBuffer(there.snapshots) && there.snapshots.equals(here.snapshots));
      assert.deepEqual(reads, [0], 'the recording is read on this thread, once, from the start');
      // Extending from a partial index (the recording grew), as the service does on demand.
      const cut = data.indexOf(0x0a, Math.floor(data.length * 0.6)) + 1;
      const partial = await worker.build(source(data.subarray(0, cut)));
      const extended = await worker.build(source(data), partial);
      assert.deepEqual(extended.index, here.index);
      assert.ok(extended.snapshots.equals(here.snapshots));
      // Several at once queue up; a bad recording and a failing read reject only their own build.
      const failing = async function* () {
        yield data.subarray(0, 200_000);
        throw new Error('blob sessions/x/chunks/3 is corrupt');
      };
      const results = await Promise.allSettled([worker.build(source(Buffer.from('<html>\n'))), worker.build(failing), worker.build(source(data))]);
      assert.match(String((results[0] as PromiseRejectedResult).reason), /not an asciicast/);
      assert.match(String((results[1] as PromiseRejectedResult).reason), /chunks\/3 is corrupt/);
      assert.deepEqual((results[2] as PromiseFulfilledResult<{ index: unknown }>).value.index, here.index);
      assert.equal(worker.fallbacks, 0, 'every build ran on the worker');
    } finally {
      await worker.close();
    }
    await assert.rejects(worker.build(source(data)), /closed/);
  });

  it('a build in flight when it closes is rejected, not left hanging', async () => {
    const worker = new CastIndexWorker();
    const slow = async function* () {
      yield Buffer.from(`${JSON.stringify({ version: 2, width: 80, height: 24 })}\n`);
      await new Promise((r) => setTimeout(r, 60_000).unref());
    };
    const outcome = worker.build(slow).then(() => 'built', (err: Error) => err.message);
    await new Promise((r) => setTimeout(r, 300));
    await worker.close();
    assert.match(await outcome, /stopping/);
    assert.equal(worker.fallbacks, 0);
  });
});
