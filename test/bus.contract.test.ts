import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ChannelModel } from 'amqplib';
import type { Bus, DeadLetter, Json, JobMeta } from '../src/adapters/bus/bus.ts';
import { MemoryBroker, MemoryBus } from '../src/adapters/bus/memory/memory-bus.ts';
import { openBus } from '../src/adapters/bus/open-bus.ts';
import { destroyConnectionForTest, RabbitMqBus } from '../src/adapters/bus/rabbitmq/rabbitmq-bus.ts';

// One contract, two adapters: every assertion in `busContract` runs on the memory bus and on a
// real RabbitMQ. Each test uses fresh topic and queue names and deletes its queues afterwards.

const RABBIT_URL = process.env.VIGIL_TEST_BUS_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

class CapturingLogger {
  readonly warns: { obj: Record<string, unknown>; msg: string }[] = [];
  readonly infos: { obj: Record<string, unknown>; msg: string }[] = [];
  warn(obj: object, msg: string): void {
    this.warns.push({ obj: obj as Record<string, unknown>, msg });
  }
  info(obj: object, msg: string): void {
    this.infos.push({ obj: obj as Record<string, unknown>, msg });
  }
}

interface Fixture {
  name: string;
  setup(): Promise<void>;
  /** A new node attached to the same broker. */
  open(logger?: CapturingLogger): Promise<Bus>;
  dropQueues(queues: string[]): Promise<void>;
  teardown(): Promise<void>;
}

function memoryFixture(): Fixture {
  const broker = new MemoryBroker();
  return {
    name: 'memory',
    setup: async () => undefined,
    open: async (logger) => new MemoryBus({ broker, logger }),
    dropQueues: async () => undefined,
    teardown: async () => undefined,
  };
}

class RabbitFixture implements Fixture {
  readonly name = 'RabbitMQ';
  private model: ChannelModel | undefined;

  async setup(): Promise<void> {
    try {
      this.model = await connect(RABBIT_URL);
    } catch (err) {
      throw new Error(
        `RabbitMQ is not reachable at ${RABBIT_URL.replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}). ` +
          'Start it with `rabbitmq-server -detached` or point VIGIL_TEST_BUS_URL at a broker.',
        { cause: err },
      );
    }
    this.model.on('error', () => undefined);
  }

  open(logger?: CapturingLogger): Promise<Bus> {
    return openBus({ busUrl: RABBIT_URL, logger });
  }

  /** A raw channel, to look at the broker's side of things. */
  async channel() {
    assert.ok(this.model, 'fixture set up');
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    return ch;
  }

  async dropQueues(queues: string[]): Promise<void> {
    if (queues.length === 0) return;
    const ch = await this.channel();
    for (const q of queues) for (const name of [q, `${q}.retry`, `${q}.dead`]) await ch.deleteQueue(name);
    await ch.close();
  }

  async teardown(): Promise<void> {
    await this.model?.close();
  }
}

/** A TCP forwarder to the broker that can be taken down and brought back, to play an unreachable broker. */
class BrokerProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

const uid = (): string => randomBytes(4).toString('hex');

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Per-test nodes and queues, closed and deleted after each test of the enclosing suite. */
function harness(fx: Fixture) {
  const buses: Bus[] = [];
  const queues: string[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    await fx.dropQueues(queues.splice(0));
  });
  return {
    node: async (logger?: CapturingLogger): Promise<Bus> => {
      const bus = await fx.open(logger);
      buses.push(bus);
      return bus;
    },
    queue: (label: string): string => {
      const q = `test.bus.${label}.${uid()}`;
      queues.push(q);
      return q;
    },
    topic: (): string => `t${uid()}`,
  };
}

function busContract(fx: Fixture): void {
  describe(`Bus contract: ${fx.name}`, () => {
    before(() => fx.setup());
    after(() => fx.teardown());
    const { node, queue, topic } = harness(fx);

    it('fans each message out to every subscriber on every node, as a JSON copy', async () => {
      const [a, b] = [await node(), await node()];
      const t = topic();
      const got: Record<string, [Json, string][]> = { aAll: [], aOne: [], b: [] };
      await a.subscribe(`${t}.#`, (m, tp) => void got.aAll!.push([m, tp]));
      await a.subscribe(`${t}.*`, (m, tp) => void got.aOne!.push([m, tp]));
      await b.subscribe(`${t}.x`, (m, tp) => void got.b!.push([m, tp]));
      const message = { text: 'héllo ✓', n: 42.5, ok: true, none: null, list: [1, 'two', { three: [] }] };
      await b.publish(`${t}.x`, message);
      await waitFor('three deliveries', () => Object.values(got).every((g) => g.length === 1));
      for (const g of Object.values(got)) {
        assert.deepEqual(g, [[message, `${t}.x`]]);
        assert.notEqual(g[0]![0], message, 'subscribers get their own copy');
      }
    });

    it('routes `*` and `#` patterns like an AMQP topic exchange', async () => {
      const bus = await node();
      const t = topic();
      const patterns = { oneSession: 'session.*.control', allSession: 'session.#', anyControl: '#.control', oneWord: '*' };
      const got: Record<string, string[]> = {};
      for (const [name, p] of Object.entries(patterns)) {
        got[name] = [];
        await bus.subscribe(`${t}.${p}`, (_m, tp) => void got[name]!.push(tp.slice(t.length + 1)));
      }
      const topics = ['session.s1.control', 'session.s1.frames.2', 'session', 'audit', 'control', 'sessions.s1.control'];
      for (const tp of topics) await bus.publish(`${t}.${tp}`, tp);
      const expected = {
        oneSession: ['session.s1.control'],
        allSession: ['session.s1.control', 'session.s1.frames.2', 'session'],
        anyControl: ['session.s1.control', 'control', 'sessions.s1.control'],
        oneWord: ['session', 'audit', 'control'],
      };
      const total = Object.values(expected).flat().length;
      await waitFor('routed messages', () => Object.values(got).flat().length >= total);
      await sleep(100); // and nothing more arrives
      assert.deepEqual(got, expected);
    });

    it('delivers to each subscriber in publish order, never inside publish()', async () => {
      const bus = await node();
      const t = topic();
      const got: Json[] = [];
      let publishing = false;
      const duringPublish: boolean[] = [];
      await bus.subscribe(t, (m) => {
        duringPublish.push(publishing);
        got.push(m);
      });
      for (let i = 0; i < 50; i++) {
        publishing = true;
        const p = bus.publish(t, i);
        publishing = false;
        await p;
      }
      await waitFor('50 messages', () => got.length === 50);
      assert.deepEqual(got, [...Array(50).keys()]);
      assert.ok(duringPublish.every((d) => !d), 'handlers run asynchronously, never re-entrantly');
    });

    it('stops delivering after unsubscribe', async () => {
      const bus = await node();
      const t = topic();
      const dropped: Json[] = [];
      const kept: Json[] = [];
      const sub = await bus.subscribe(t, (m) => void dropped.push(m));
      await bus.subscribe(t, (m) => void kept.push(m));
      await bus.publish(t, 1);
      await waitFor('first message on both', () => dropped.length === 1 && kept.length === 1);
      await sub.unsubscribe();
      await sub.unsubscribe(); // idempotent
      await bus.publish(t, 2);
      await waitFor('second message on the remaining subscriber', () => kept.length === 2);
      await sleep(100);
      assert.deepEqual(dropped, [1]);
    });

    it('keeps a subscription whose handler throws, and logs the failure', async () => {
      const logger = new CapturingLogger();
      const bus = await node(logger);
      const t = topic();
      const syncSeen: Json[] = [];
      const asyncSeen: Json[] = [];
      await bus.subscribe(t, (m) => {
        syncSeen.push(m);
        if (m === 'bad') throw new Error('sync handler exploded');
      });
      await bus.subscribe(t, async (m) => {
        asyncSeen.push(m);
        if (m === 'bad') throw new Error('async handler exploded');
      });
      await bus.publish(t, 'bad');
      await bus.publish(t, 'good');
      await waitFor('both messages on both subscribers', () => syncSeen.length === 2 && asyncSeen.length === 2);
      assert.deepEqual(syncSeen, ['bad', 'good']);
      assert.deepEqual(asyncSeen, ['bad', 'good']);
      const logged = logger.warns.map((w) => (w.obj.err as Error | undefined)?.message).sort();
      assert.deepEqual(logged, ['async handler exploded', 'sync handler exploded']);
    });

    it('keeps a job enqueued before any consumer, and delivers it with attempt 1', async () => {
      const [a, b] = [await node(), await node()];
      const q = queue('early');
      const job = { recording: 'r1', parts: [1, 2] };
      await a.enqueue(q, job);
      const got: [Json, JobMeta][] = [];
      await b.consume(q, async (j, meta) => void got.push([j, meta]), { concurrency: 1 });
      await waitFor('the job', () => got.length === 1);
      assert.deepEqual(got, [[job, { attempt: 1, queue: q }]]);
    });

    it('hands each job to exactly one of the competing consumers on two nodes', async () => {
      const [a, b] = [await node(), await node()];
      const q = queue('compete');
      const handled: Record<string, number[]> = { a: [], b: [] };
      for (const [name, bus] of [['a', a], ['b', b]] as const) {
        await bus.consume(
          q,
          async (job) => {
            await sleep(5);
            handled[name]!.push(job as number);
          },
          { concurrency: 2 },
        );
      }
      for (let i = 0; i < 30; i++) await a.enqueue(q, i);
      await waitFor('30 jobs', () => handled.a!.length + handled.b!.length >= 30);
      await sleep(150); // no duplicate shows up late
      const all = [...handled.a!, ...handled.b!].sort((x, y) => x - y);
      assert.deepEqual(all, [...Array(30).keys()], 'every job once, none twice');
      assert.ok(handled.a!.length > 0 && handled.b!.length > 0, `both nodes worked: ${handled.a!.length}/${handled.b!.length}`);
    });

    it('runs no more than `concurrency` jobs at once per consumer', async () => {
      const bus = await node();
      const q = queue('prefetch');
      let running = 0;
      let peak = 0;
      let done = 0;
      await bus.consume(
        q,
        async () => {
          peak = Math.max(peak, ++running);
          await sleep(30);
          running--;
          done++;
        },
        { concurrency: 3 },
      );
      for (let i = 0; i < 12; i++) await bus.enqueue(q, i);
      await waitFor('12 jobs', () => done === 12);
      assert.equal(peak, 3);
    });

    it('retries a failing job after retryDelayMs with attempt + 1, then acks it', async () => {
      const bus = await node();
      const q = queue('retry');
      const calls: { attempt: number; at: number }[] = [];
      await bus.consume(
        q,
        async (_job, meta) => {
          calls.push({ attempt: meta.attempt, at: Date.now() });
          if (meta.attempt < 3) throw new Error(`fail ${meta.attempt}`);
        },
        { concurrency: 1, maxAttempts: 5, retryDelayMs: 60 },
      );
      await bus.enqueue(q, { id: 'j' });
      await waitFor('three attempts', () => calls.length === 3);
      await sleep(150);
      assert.deepEqual(
        calls.map((c) => c.attempt),
        [1, 2, 3],
      );
      for (let i = 1; i < calls.length; i++) {
        const gap = calls[i]!.at - calls[i - 1]!.at;
        assert.ok(gap >= 50, `retry ${i} came after ${gap} ms, expected about 60`);
      }
      assert.deepEqual(await bus.takeDeadLetters(q), []);
    });

    it('dead-letters a job after maxAttempts with its last error', async () => {
      const bus = await node();
      const q = queue('dead');
      const attempts: number[] = [];
      await bus.consume(
        q,
        async (job, meta) => {
          attempts.push(meta.attempt);
          throw new Error(`attempt ${meta.attempt} failed for ${(job as { id: string }).id}`);
        },
        { concurrency: 1, maxAttempts: 3, retryDelayMs: 10 },
      );
      await bus.enqueue(q, { id: 'j1' });
      let dead: DeadLetter[] = [];
      await waitFor('the dead letter', async () => (dead = await bus.takeDeadLetters(q)).length > 0);
      assert.deepEqual(dead, [{ queue: q, job: { id: 'j1' }, error: 'attempt 3 failed for j1', attempts: 3 }]);
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(await bus.takeDeadLetters(q), [], 'taking removes them');
    });

    it('takes dead letters oldest first, at most `max` at a time', async () => {
      const bus = await node();
      const q = queue('takemax');
      let failed = 0;
      await bus.consume(
        q,
        async () => {
          failed++;
          throw new Error('nope');
        },
        { concurrency: 1, maxAttempts: 1 },
      );
      for (const id of ['j1', 'j2', 'j3']) await bus.enqueue(q, id);
      await waitFor('three failures', () => failed === 3);
      await sleep(100); // the last one reaches the dead letters
      const first = await bus.takeDeadLetters(q, 2);
      const rest = await bus.takeDeadLetters(q, 10);
      assert.deepEqual(first.map((d) => d.job), ['j1', 'j2']);
      assert.deepEqual(rest.map((d) => [d.job, d.error, d.attempts]), [['j3', 'nope', 1]]);
    });

    it('stops consuming after unsubscribe and leaves later jobs to others', async () => {
      const [a, b] = [await node(), await node()];
      const q = queue('unsub');
      const seenA: Json[] = [];
      const sub = await a.consume(q, async (j) => void seenA.push(j), { concurrency: 1 });
      await a.enqueue(q, 1);
      await waitFor('job 1', () => seenA.length === 1);
      await sub.unsubscribe();
      await sub.unsubscribe(); // idempotent
      await a.enqueue(q, 2);
      await sleep(100);
      assert.deepEqual(seenA, [1]);
      const seenB: Json[] = [];
      await b.consume(q, async (j) => void seenB.push(j), { concurrency: 1 });
      await waitFor('job 2 on the other node', () => seenB.length === 1);
      assert.deepEqual(seenB, [2]);
    });

    it('close() waits for in-flight handlers, acks their jobs, is idempotent and final', async () => {
      const a = await node();
      const q = queue('close');
      let started = false;
      let finished = false;
      await a.consume(
        q,
        async () => {
          started = true;
          await sleep(150);
          finished = true;
        },
        { concurrency: 1 },
      );
      await a.enqueue(q, 'slow');
      await waitFor('the job to start', () => started);
      await a.close();
      assert.equal(finished, true, 'close() resolved before the handler finished');
      await a.close();
      await assert.rejects(a.publish('x', 1), /closed/);
      await assert.rejects(a.enqueue(q, 1), /closed/);
      const b = await node();
      const again: Json[] = [];
      await b.consume(q, async (j) => void again.push(j), { concurrency: 1 });
      await sleep(150);
      assert.deepEqual(again, [], 'the finished job was acknowledged, not redelivered');
    });

    it('rejects nonsensical consume options', async () => {
      const bus = await node();
      const q = queue('opts');
      await assert.rejects(bus.consume(q, async () => undefined, { concurrency: 0 }), RangeError);
      await assert.rejects(bus.consume(q, async () => undefined, { concurrency: 1, maxAttempts: 0 }), RangeError);
    });
  });
}

busContract(memoryFixture());

const rabbit = new RabbitFixture();
busContract(rabbit);

describe('RabbitMQ bus specifics', () => {
  before(() => rabbit.setup());
  after(() => rabbit.teardown());
  const { node, queue, topic } = harness(rabbit);

  it('openBus picks the adapter from the URL', async () => {
    const memory = await openBus({ busUrl: undefined });
    assert.equal(memory.kind, 'memory');
    await memory.close();
    assert.equal((await node()).kind, 'rabbitmq');
  });

  it('resolves enqueue only once the job is a persistent message in a durable queue', async () => {
    const bus = await node();
    const q = queue('durable');
    await bus.enqueue(q, { id: 1 });
    const ch = await rabbit.channel();
    assert.equal((await ch.checkQueue(q)).messageCount, 1, 'confirmed by the broker before enqueue resolved');
    const msg = await ch.get(q, { noAck: false });
    assert.ok(msg);
    assert.equal(msg.properties.deliveryMode, 2, 'persistent');
    assert.deepEqual(JSON.parse(msg.content.toString()), { id: 1 });
    await ch.close(); // unacked: back to the queue
    for (const name of [q, `${q}.retry`, `${q}.dead`]) {
      // Re-declaring as non-durable must clash with what the bus declared.
      const probe = await rabbit.channel();
      await assert.rejects(probe.assertQueue(name, { durable: false }), /PRECONDITION_FAILED/, `${name} is durable`);
    }
  });

  it('reconnects after the connection dies, restoring subscriptions and consumers without losing jobs', async () => {
    const logger = new CapturingLogger();
    const a = await node(logger);
    const b = await node();
    const t = topic();
    const q = queue('reconnect');
    const heard: Json[] = [];
    await a.subscribe(`${t}.#`, (m) => void heard.push(m));
    const started = new Set<number>();
    const done = new Set<number>();
    await a.consume(
      q,
      async (job) => {
        started.add(job as number);
        await sleep(30);
        done.add(job as number);
      },
      { concurrency: 4, retryDelayMs: 20 },
    );
    for (let i = 0; i < 10; i++) await b.enqueue(q, i);
    await waitFor('jobs in flight', () => started.size >= 2);

    destroyConnectionForTest(a as RabbitMqBus);

    // Calls made while the node reconnects wait for the new connection instead of failing.
    const during = Promise.all([a.enqueue(q, 10), a.publish(`${t}.during`, 'during')]);
    for (let i = 11; i < 20; i++) await b.enqueue(q, i);
    await during;

    await waitFor('all 20 jobs, including those in flight when the socket died', () => done.size === 20, 15_000);
    await b.publish(`${t}.after`, 'after');
    await waitFor('messages published during and after the outage', () => heard.includes('during') && heard.includes('after'));
    assert.ok(logger.warns.some((w) => /connection lost/.test(w.msg)), 'the drop was logged');
    assert.ok(logger.infos.some((i) => /re-established/.test(i.msg)), 'the reconnect was logged');
  });

  it('makes calls wait a bounded time while the broker is unreachable, and recovers when it is back', async () => {
    const target = new URL(RABBIT_URL);
    const proxy = new BrokerProxy({ host: target.hostname, port: Number(target.port || 5672) });
    await proxy.start();
    let bus: RabbitMqBus | undefined;
    try {
      const viaProxy = new URL(RABBIT_URL);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      const logger = new CapturingLogger();
      bus = await RabbitMqBus.open({ url: viaProxy.toString(), logger, readyTimeoutMs: 300, maxReconnectDelayMs: 100 });
      const t = topic();
      const heard: Json[] = [];
      await bus.subscribe(t, (m) => void heard.push(m));

      await proxy.stop();
      await waitFor('the drop to be noticed', () => logger.warns.some((w) => /connection lost/.test(w.msg)));
      const started = Date.now();
      await assert.rejects(bus.publish(t, 'lost'), (err: Error) => {
        assert.match(err.message, /^RabbitMQ bus: no connection to amqps?:\/\/\S+ after waiting \d+ ms/);
        if (target.password) assert.ok(!err.message.includes(`:${target.password}@`), 'password redacted');
        return true;
      });
      assert.ok(Date.now() - started >= 250, 'waited for the connection before giving up');
      await sleep(300); // a few reconnect attempts fail
      assert.ok(logger.warns.some((w) => /reconnect failed/.test(w.msg)), 'failed reconnects were logged');

      await proxy.start();
      await waitFor('the reconnect', () => logger.infos.some((i) => /re-established/.test(i.msg)), 3000);
      await bus.publish(t, 'back');
      await waitFor('a message after recovery', () => heard.includes('back'));
      assert.deepEqual(heard, ['back']);
    } finally {
      await bus?.close(); // while the proxy is up, so its subscription queue is deleted
      await proxy.stop();
    }
  });

  it('fails fast with a clear message, and no password, when the broker is unreachable', async () => {
    await assert.rejects(openBus({ busUrl: 'amqp://vigil:s3cret@127.0.0.1:1' }), (err: Error) => {
      assert.match(err.message, /cannot connect to amqp:\/\/vigil:\*\*\*@127\.0\.0\.1:1/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
  });
});
