/**
 * `npm run bench -- search [--sessions N] [--events N] [--dialect sqlite,postgres] [--queries N]
 *                          [--runs N] [--warm] [--dir /tmp/vigil-bench-search] [--pg-url URL]
 *                          [--write-doc]`
 *
 * Builds (once, then reuses) a corpus of sessions and activity events in a SQLite file and a
 * PostgreSQL database, then times ~200 session searches of several classes through the real
 * SessionSearch and Store adapters (production pragmas and pool), and prints p50/p95/max per
 * class and dialect. Opening a cached corpus applies pending migrations in place, like a server
 * upgrade. `--warm` first reads the whole corpus once into the OS page cache. Each run draws
 * different queries of the same classes and records the load average and I/O pressure. `--write-doc` replaces this corpus size's block in
 * the `## search` section of docs/PERFORMANCE.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openPostgresStore } from '../src/adapters/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/adapters/store/store.ts';
import { SessionSearch, type SearchQuery } from '../src/core/search/session-search.ts';
import { buildPostgres, buildSqlite, sizeLabel, type Built } from './search-build.ts';
import { catalog, CORPUS_END, Rng, SERVICES, type CorpusSize } from './search-corpus.ts';

const GOAL_MS = 100;

interface Query {
  cls: string;
  q: Omit<SearchQuery, 'limit'>;
}

/** The query mix: each class has the same number of queries, drawn from the corpus vocabulary. */
export function queryMix(total: number, seed: number): Query[] {
  const r = new Rng(seed);
  const cat = catalog();
  const day = 86_400_000;
  const rare = () => (r.next() < 0.5 ? `OPS-${10000 + r.int(90000)}` : `build-${r.hex(4)}`);
  const uncommon = () => r.pick(['/etc/passwd', '/etc/shadow', 'rm -rf /var/lib', 'passwd ', 'regedit', 'tcpdump', 'sudo cat', 'backup01.prod']);
  const common = () => r.pick(['systemctl', 'nginx', 'error', 'GET /api/v1/orders', 'kubectl', 'restart', 'connection refused', r.pick(SERVICES)]);
  const user = () => r.skewed(cat.users).name;
  const window = (days: number) => {
    const to = CORPUS_END - r.int(300) * day;
    return { from: to - days * day, to };
  };
  const classes: Array<[string, () => Query['q']]> = [
    ['rare term', () => ({ q: rare() })],
    ['uncommon term', () => ({ q: uncommon() })],
    ['common term', () => ({ q: common() })],
    ['2-char term', () => ({ q: r.pick(['rm', 'ls', 'cd', 'vi', 'df', 'ps']) })],
    ['common + user', () => ({ q: common(), user: user() })],
    ['rare/uncommon + host', () => ({ q: r.next() < 0.5 ? rare() : uncommon(), host: r.skewed(cat.secrets).host })],
    ['common + 30 days', () => ({ q: common(), ...window(30) })],
    ['uncommon + 7 days', () => ({ q: uncommon(), ...window(7) })],
    ['in=<one source>', () => r.pick([
      { q: r.pick(['regedit', 'mmc.exe', 'Event Viewer', 'tcpdump']), in: ['applications' as const] },
      { q: r.pick(['Restart-Service', 'kubectl', '/etc/passwd']), in: ['agent-keystrokes' as const] },
      { q: r.pick(['sudo', 'OPS-4242', 'rm -rf']), in: ['proxy-keystrokes' as const] },
      { q: r.pick(['connection refused', 'Filesystem', 'ECONNRESET']), in: ['output' as const] },
      { q: r.pick(['db-prod', 'jump', user().split('.')[1]!, '10.3.']), in: ['metadata' as const] },
    ])],
    ['no text, filters only', () => r.pick([{ user: user() }, { status: 'active' as const }, { kind: 'desktop' as const, ...window(30) }, { host: r.skewed(cat.secrets).host }, { secret: r.skewed(cat.secrets).name }])],
  ];
  const per = Math.max(1, Math.round(total / classes.length));
  return classes.flatMap(([cls, make]) => Array.from({ length: per }, () => ({ cls, q: make() })));
}

interface Sample {
  cls: string;
  ms: number;
  /** CPU milliseconds (this process plus the PostgreSQL backends), when measurable. */
  cpu: number | null;
  items: number;
  partial: boolean;
}

/**
 * CPU time used so far by this process (SQLite runs in it) and, for a PostgreSQL server on this
 * host, by the backends serving `pgDatabase` (/proc/<pid>/schedstat). Unlike wall time it does not
 * grow when other jobs take the cores or when pages have to come from disk, so it shows what a
 * query costs on an idle machine with the data in memory. Null where /proc cannot tell.
 */
function cpuNow(pgDatabase: string | null): number | null {
  const u = process.cpuUsage();
  let ms = (u.user + u.system) / 1000;
  if (pgDatabase === null) return ms;
  try {
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let cmd: string;
      try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmd.startsWith('postgres: ') || !cmd.includes(` ${pgDatabase} `)) continue;
      ms += Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    }
  } catch {
    return null;
  }
  return ms;
}

async function measure(store: Store, queries: Query[], warmup: Query[], pgDatabase: string | null): Promise<Sample[]> {
  const search = new SessionSearch(store);
  for (const w of warmup) await search.search({ all: true }, { ...w.q, limit: 50 });
  const out: Sample[] = [];
  for (const { cls, q } of queries) {
    const c0 = cpuNow(pgDatabase);
    const t = performance.now();
    const page = await search.search({ all: true }, { ...q, limit: 50 });
    const ms = performance.now() - t;
    const c1 = cpuNow(pgDatabase);
    out.push({ cls, ms, cpu: c0 !== null && c1 !== null ? c1 - c0 : null, items: page.items.length, partial: page.items.length < 50 && page.nextCursor !== null });
  }
  return out;
}

/** Reads the corpus once so it sits in the OS page cache (the production steady state on a host with RAM for it). */
async function warmCache(store: Store, location: string): Promise<number> {
  const t = performance.now();
  if (store.dialect === 'sqlite') {
    const buf = Buffer.alloc(16 << 20);
    for (const f of [location, `${location}-wal`]) {
      if (!fs.existsSync(f)) continue;
      const fd = fs.openSync(f, 'r');
      try {
        while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
      } finally {
        fs.closeSync(fd);
      }
    }
  } else {
    // pg_prewarm 'read' reads each block through the OS without filling shared_buffers.
    await sql`CREATE EXTENSION IF NOT EXISTS pg_prewarm`.execute(store.db);
    await sql`SELECT sum(pg_prewarm(c.oid, 'read')) FROM pg_class c
      WHERE c.relkind IN ('r', 'i', 't', 'm') AND (c.relnamespace = 'public'::regnamespace OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = 'public'::regnamespace))`.execute(store.db);
  }
  return performance.now() - t;
}

/** 1-minute load average and, where Linux reports it, the share of the last minute some task waited for I/O. */
const load1 = (): string => {
  let io = '';
  try {
    const m = /some avg10=[\d.]+ avg60=([\d.]+)/.exec(fs.readFileSync('/proc/pressure/io', 'utf8'));
    if (m) io = ` (I/O wait ${Math.round(Number(m[1]))}%)`;
  } catch {
    // no pressure stall information on this system
  }
  return `${os.loadavg()[0]!.toFixed(2)}${io}`;
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const f1 = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0));

function table(results: Map<string, Sample[]>): string {
  const dialects = [...results.keys()];
  const classes = [...new Set([...results.values()].flatMap((s) => s.map((x) => x.cls)))];
  const head = `| query class | ${dialects.map((d) => `${d} p50 / p95 / max (ms)`).join(' | ')} | ${dialects.map((d) => `${d} avg items, partial pages`).join(' | ')} |`;
  const sep = `|---|${dialects.map(() => '---:').join('|')}|${dialects.map(() => '---:').join('|')}|`;
  const line = (label: string, pick: (s: Sample) => boolean) =>
    `| ${label} | ${dialects.map((d) => {
      const ms = results.get(d)!.filter(pick).map((s) => s.ms);
      return `${f1(pct(ms, 50))} / ${f1(pct(ms, 95))} / ${f1(Math.max(...ms))}`;
    }).join(' | ')} | ${dialects.map((d) => {
      const s = results.get(d)!.filter(pick);
      return `${(s.reduce((a, x) => a + x.items, 0) / s.length).toFixed(0)}, ${s.filter((x) => x.partial).length}/${s.length}`;
    }).join(' | ')} |`;
  return [head, sep, ...classes.map((c) => line(c, (s) => s.cls === c)), line('**all queries**', () => true)].join('\n');
}

/** The same queries' CPU time (see cpuNow), or null when no dialect could measure it. */
function cpuTable(results: Map<string, Sample[]>): string | null {
  const dialects = [...results.keys()].filter((d) => results.get(d)!.every((s) => s.cpu !== null));
  if (dialects.length === 0) return null;
  const classes = [...new Set([...results.values()].flatMap((s) => s.map((x) => x.cls)))];
  const line = (label: string, pick: (s: Sample) => boolean) =>
    `| ${label} | ${dialects.map((d) => {
      const ms = results.get(d)!.filter(pick).map((s) => s.cpu!);
      return `${f1(pct(ms, 50))} / ${f1(pct(ms, 95))} / ${f1(Math.max(...ms))}`;
    }).join(' | ')} |`;
  return [
    `| query class | ${dialects.map((d) => `${d} CPU p50 / p95 / max (ms)`).join(' | ')} |`,
    `|---|${dialects.map(() => '---:').join('|')}|`,
    ...classes.map((c) => line(c, (s) => s.cls === c)),
    line('**all queries**', () => true),
  ].join('\n');
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sessions: { type: 'string', default: '100000' },
      events: { type: 'string', default: '20000000' },
      dialect: { type: 'string', default: 'sqlite,postgres' },
      queries: { type: 'string', default: '200' },
      runs: { type: 'string', default: '1' },
      warm: { type: 'boolean', default: false },
      dir: { type: 'string', default: '/tmp/vigil-bench-search' },
      'pg-url': { type: 'string', default: process.env.VIGIL_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
      'write-doc': { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const size: CorpusSize = { sessions: Number(values.sessions), events: Number(values.events) };
  if (!(size.sessions > 0 && size.events > 0)) throw new Error('--sessions and --events must be positive numbers');
  const runs = Number(values.runs);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs must be a positive integer');
  const isDefault = size.sessions === 100_000 && size.events === 20_000_000;
  const pgName = isDefault ? 'vigil_bench_search' : `vigil_bench_search_${sizeLabel(size).replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
  // Run r times queries drawn with seed 2r-1: the same classes, different terms and filters.
  const querySets = Array.from({ length: runs }, (_, r) => queryMix(Number(values.queries), 2 * r + 1));
  const warmup = queryMix(50, 2);
  const results: Array<Map<string, Sample[]>> = querySets.map(() => new Map());
  const loads: Array<Map<string, string>> = querySets.map(() => new Map());
  const builds = new Map<string, Built>();
  const notes: string[] = [];

  for (const dialect of values.dialect.split(',')) {
    let store: Store;
    let location: string;
    const t0 = performance.now();
    if (dialect === 'sqlite') {
      const b = await buildSqlite(size, values.dir);
      builds.set(dialect, b);
      location = b.location;
      store = await openSqliteStore(b.location);
    } else if (dialect === 'postgres') {
      const b = await buildPostgres(size, values['pg-url'], pgName);
      builds.set(dialect, b);
      const url = new URL(values['pg-url']);
      url.pathname = `/${pgName}`;
      location = pgName;
      store = await openPostgresStore(url.toString());
    } else throw new Error(`--dialect: unknown dialect ${dialect}`);
    try {
      const b = builds.get(dialect)!;
      const opened = (performance.now() - t0) / 1000;
      console.log(`${dialect}: corpus ${sizeLabel(size)} ${b.reused ? 'reused' : 'built'} (build took ${Math.round(b.buildMs / 1000)} s; open with pending migrations ${opened.toFixed(1)} s)`);
      if (values.warm) {
        const ms = await warmCache(store, location);
        console.log(`${dialect}: corpus read into the OS page cache in ${(ms / 1000).toFixed(0)} s`);
        notes.push(`${dialect} cache warm-up ${(ms / 1000).toFixed(0)} s`);
      }
      for (let r = 0; r < runs; r++) {
        const before = load1();
        console.log(`${dialect}: run ${r + 1}/${runs}, ${querySets[r]!.length} queries, load average ${before}`);
        results[r]!.set(dialect, await measure(store, querySets[r]!, r === 0 ? warmup : [], dialect === 'postgres' ? pgName : null));
        loads[r]!.set(dialect, `${before} → ${load1()}`);
      }
    } finally {
      await store.close();
    }
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const label = sizeLabel(size);
  const block = [
    `<!-- bench:search ${label} -->`,
    `### ${size.sessions.toLocaleString('en')} sessions, ${size.events.toLocaleString('en')} events`,
    '',
    `- Run: ${new Date().toISOString().slice(0, 10)}, \`npm run bench -- search --sessions ${size.sessions} --events ${size.events}${runs > 1 ? ` --runs ${runs}` : ''}${values.warm ? ' --warm' : ''}\``,
    `- Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}`,
    `- Corpus: ${size.sessions.toLocaleString('en')} sessions, ${size.events.toLocaleString('en')} events; build ${[...builds].map(([d, b]) => `${d} ${Math.round(b.buildMs / 1000)} s`).join(', ')}${notes.length > 0 ? `; ${notes.join(', ')}` : ''}`,
    `- ${querySets[0]!.length} queries per run (${warmup.length} different ones first as warm-up), one at a time, page size 50 with hits; time = SessionSearch.search() end to end`,
    ...results.flatMap((res, r) => {
      const cpu = cpuTable(res);
      return [
        '',
        `${runs > 1 ? `Run ${r + 1} of ${runs} (query seed ${2 * r + 1}), ` : ''}load average (1 min; I/O pressure, share of the last minute with a task waiting for I/O) at start → end: ${[...loads[r]!].map(([d, l]) => `${d} ${l}`).join(', ')}`,
        '',
        table(res),
        ...(cpu ? ['', 'CPU time of the same queries (Node process + PostgreSQL backend; not inflated by waiting for a core or for the disk, though it includes copying pages the OS has to fetch):', '', cpu] : []),
      ];
    }),
    `<!-- /bench:search ${label} -->`,
  ].join('\n');
  const goal = `Goal (issue 3): p95 < ${GOAL_MS} ms for substring queries with and without filters, on SQLite and PostgreSQL, with 100,000 sessions and 20 million events.`;
  console.log(`\n## search\n\n${goal}\n\n${block}\n`);
  if (values['write-doc']) writeSection(path.resolve(import.meta.dirname, '../docs/PERFORMANCE.md'), goal, block, label);
}

/**
 * Writes the results into docs/PERFORMANCE.md: replaces this corpus size's block (between
 * `<!-- bench:search <size> -->` markers) inside the `<!-- bench:search -->` markers of the
 * `## search` section, or adds it there, so hand-written notes around them and other sizes'
 * results survive; without those markers it writes the whole `## search` section. The rest of the
 * file is left alone.
 */
function writeSection(file: string, goal: string, block: string, label: string): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const sub = [`<!-- bench:search ${label} -->`, `<!-- /bench:search ${label} -->`] as const;
  const i = text.indexOf(sub[0]);
  const j = text.indexOf(sub[1]);
  if (i >= 0 && j > i) {
    fs.writeFileSync(file, `${text.slice(0, i)}${block}${text.slice(j + sub[1].length)}`);
    return;
  }
  const open = '<!-- bench:search -->';
  const close = '<!-- /bench:search -->';
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a >= 0 && b > a) {
    fs.writeFileSync(file, `${text.slice(0, a + open.length)}\n${block}\n${text.slice(a + open.length, b).trim() === '' ? '' : `\n${text.slice(a + open.length, b).trim()}\n`}${text.slice(b)}`);
    return;
  }
  const section = `## search\n\n${goal}\n\n${open}\n${block}\n${close}`;
  const start = text.search(/^## search\s*$/m);
  if (start < 0) {
    fs.writeFileSync(file, `${text.trimEnd()}\n\n${section}\n`);
    return;
  }
  const next = text.slice(start + 1).search(/^## /m);
  fs.writeFileSync(file, `${text.slice(0, start)}${section}\n${next < 0 ? '' : `\n${text.slice(start + 1 + next)}`}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  await run(process.argv.slice(2));
}
