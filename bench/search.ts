/**
 * `npm run bench -- search [--sessions N] [--events N] [--dialect sqlite,postgres] [--queries N]
 *                          [--dir /tmp/vigil-bench-search] [--pg-url URL] [--write-doc]`
 *
 * Builds (once, then reuses) a corpus of sessions and activity events in a SQLite file and a
 * PostgreSQL database, then times ~200 session searches of several classes through the real
 * SessionSearch and Store adapters (production pragmas and pool), and prints p50/p95/max per
 * class and dialect. `--write-doc` replaces the `## search` section of docs/PERFORMANCE.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
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
  items: number;
  partial: boolean;
}

async function measure(store: Store, queries: Query[], warmup: Query[]): Promise<Sample[]> {
  const search = new SessionSearch(store);
  for (const w of warmup) await search.search({ all: true }, { ...w.q, limit: 50 });
  const out: Sample[] = [];
  for (const { cls, q } of queries) {
    const t = performance.now();
    const page = await search.search({ all: true }, { ...q, limit: 50 });
    out.push({ cls, ms: performance.now() - t, items: page.items.length, partial: page.items.length < 50 && page.nextCursor !== null });
  }
  return out;
}

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

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sessions: { type: 'string', default: '100000' },
      events: { type: 'string', default: '20000000' },
      dialect: { type: 'string', default: 'sqlite,postgres' },
      queries: { type: 'string', default: '200' },
      dir: { type: 'string', default: '/tmp/vigil-bench-search' },
      'pg-url': { type: 'string', default: process.env.VIGIL_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
      'write-doc': { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const size: CorpusSize = { sessions: Number(values.sessions), events: Number(values.events) };
  if (!(size.sessions > 0 && size.events > 0)) throw new Error('--sessions and --events must be positive numbers');
  const isDefault = size.sessions === 100_000 && size.events === 20_000_000;
  const pgName = isDefault ? 'vigil_bench_search' : `vigil_bench_search_${sizeLabel(size).replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
  const queries = queryMix(Number(values.queries), 1);
  const warmup = queryMix(50, 2);
  const results = new Map<string, Sample[]>();
  const builds = new Map<string, Built>();

  for (const dialect of values.dialect.split(',')) {
    let store: Store;
    if (dialect === 'sqlite') {
      const b = await buildSqlite(size, values.dir);
      builds.set(dialect, b);
      store = await openSqliteStore(b.location);
    } else if (dialect === 'postgres') {
      const b = await buildPostgres(size, values['pg-url'], pgName);
      builds.set(dialect, b);
      const url = new URL(values['pg-url']);
      url.pathname = `/${pgName}`;
      store = await openPostgresStore(url.toString());
    } else throw new Error(`--dialect: unknown dialect ${dialect}`);
    try {
      console.log(`${dialect}: corpus ${sizeLabel(size)} ${builds.get(dialect)!.reused ? 'reused' : 'built'} (build took ${Math.round(builds.get(dialect)!.buildMs / 1000)} s); running ${queries.length} queries`);
      results.set(dialect, await measure(store, queries, warmup));
    } finally {
      await store.close();
    }
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const block = [
    `### ${size.sessions.toLocaleString('en')} sessions, ${size.events.toLocaleString('en')} events`,
    '',
    `- Run: ${new Date().toISOString().slice(0, 10)}, \`npm run bench -- search --sessions ${size.sessions} --events ${size.events}\``,
    `- Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}`,
    `- Corpus: ${size.sessions.toLocaleString('en')} sessions, ${size.events.toLocaleString('en')} events; build ${[...builds].map(([d, b]) => `${d} ${Math.round(b.buildMs / 1000)} s`).join(', ')}`,
    `- ${queries.length} queries (${warmup.length} different ones first as warm-up), one at a time, page size 50 with hits; time = SessionSearch.search() end to end`,
    '',
    table(results),
  ].join('\n');
  const goal = `Goal (issue 3): p95 < ${GOAL_MS} ms for substring queries with and without filters, on SQLite and PostgreSQL, with 100,000 sessions and 20 million events.`;
  console.log(`\n## search\n\n${goal}\n\n${block}\n`);
  if (values['write-doc']) writeSection(path.resolve(import.meta.dirname, '../docs/PERFORMANCE.md'), goal, block);
}

/**
 * Writes the results into docs/PERFORMANCE.md: between the `<!-- bench:search -->` markers when
 * the `## search` section has them (so hand-written notes around them survive), else as the whole
 * `## search` section; the rest of the file is left alone.
 */
function writeSection(file: string, goal: string, results: string): void {
  const section = `## search\n\n${goal}\n\n<!-- bench:search -->\n${results}\n<!-- /bench:search -->`;
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Performance\n';
  const open = '<!-- bench:search -->';
  const close = '<!-- /bench:search -->';
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a >= 0 && b > a) {
    fs.writeFileSync(file, `${text.slice(0, a + open.length)}\n${results}\n${text.slice(b)}`);
    return;
  }
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
