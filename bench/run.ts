// `npm run bench -- <name> [args]`: runs bench/<name>.ts, whose `run(args)` prints and records its numbers.
const [name, ...args] = process.argv.slice(2);
const BENCHES = ['ingest', 'search', 'transcode', 'ssh', 'console', 'cluster', 'desktop', 'agent'];
if (!name || !BENCHES.includes(name)) {
  console.error(`usage: npm run bench -- <${BENCHES.join('|')}> [options]`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { run(args: string[]): Promise<void> };
await mod.run(args);
