// Client load for `npm run bench -- ssh sessions`, run as its own process so its CPU does not
// count as the proxy's. argv: <port> <keyFile> <login> <sessions>. Opens <sessions> SSH
// connections (ssh2 Client), each an interactive pty session on the target that prints a 400-byte
// line per key; types 5 keys/s per session (≈2 KB/s output each). Prints `ready <n> <ms>` once all
// are open, `error …` on failures, and runs until killed.
import fs from 'node:fs';
import ssh2 from 'ssh2';

const [portArg, keyFile, login, countArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const privateKey = fs.readFileSync(keyFile!);
const SCRIPT = `stty raw -echo; s=$(printf '%0398d' 0); while IFS= read -rn1 k; do printf '%s\\r\\n' "$s"; done`;

let received = 0;
function open(): Promise<ssh2.ClientChannel> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('error', reject);
    c.on('ready', () => {
      c.exec(SCRIPT, { pty: { term: 'xterm', cols: 120, rows: 40 } }, (err, ch) => {
        if (err) return reject(err);
        ch.on('data', (d: Buffer) => (received += d.length));
        ch.stderr.on('data', () => undefined);
        resolve(ch);
      });
    });
    c.connect({ host: '127.0.0.1', port, username: login, privateKey, readyTimeout: 60_000, keepaliveInterval: 0 });
  });
}

const t0 = Date.now();
const channels: ssh2.ClientChannel[] = [];
let next = 0;
let failed = 0;
// sshd's MaxStartups (10:30:100) drops unauthenticated connections beyond 10, so open a few at a time.
await Promise.all(Array.from({ length: 6 }, async () => {
  while (next < count) {
    next += 1;
    for (let attempt = 0; ; attempt += 1) {
      try {
        channels.push(await open());
        break;
      } catch (e) {
        if (attempt >= 3) {
          failed += 1;
          process.stdout.write(`error ${(e as Error).message}\n`);
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}));
process.stdout.write(`ready ${channels.length} ${Date.now() - t0} failed=${failed}\n`);
// 5 keys/s each, staggered so the load is even.
channels.forEach((ch, i) => {
  setTimeout(() => setInterval(() => ch.write('a'), 200), (i * 200) / Math.max(1, channels.length));
});
setInterval(() => process.stdout.write(`rx ${received}\n`), 5000);
