import { Rng, SERVICES } from './search-corpus.ts';

/**
 * A deterministic 8-hour asciicast of an operator's working day on a server, for the `console`
 * benchmark: commands typed key by key (`i` events and their echo), their output (listings,
 * logs, service status), `tail -f` bursts, `top` redrawing a full screen in the alternate buffer
 * every 3 s, `vim` sessions, colours, and pauses of at most a minute — activity throughout.
 * Chunks are cut every second of recording time, as the SSH proxy flushes them.
 */

export interface CastHit {
  /** Milliseconds from the start: the Enter of the command (where search lands). */
  at: number;
  /** The typed command, unique in the recording. */
  command: string;
  /** Printed 400 ms after the hit: must not be on screen at the hit. */
  after: string;
}

export interface GeneratedCast {
  chunks: Buffer[];
  bytes: number;
  durationMs: number;
  events: number;
  hits: CastHit[];
  /** Activity events for the grid and search: one keystroke segment and one command per command typed. */
  activity: Array<{ at: number; type: 'keystrokes' | 'command'; text: string }>;
}

const COLS = 120;
const ROWS = 34;
const PROMPT = '\x1b[01;32mdeploy@db01.prod\x1b[00m:\x1b[01;34m~\x1b[00m$ ';
const LOG_WORDS = ['GET', 'POST', '/api/v1/orders', '/api/v1/customers', 'upstream', 'latency', 'cache', 'miss', 'hit', 'retry', 'checkpoint', 'vacuum', 'replica', 'lag'];

export function generateCast(hours = 8, seed = 5, hitAtHours: number[] = [1.02, 4.37, 7.83]): GeneratedCast {
  const r = new Rng(seed);
  const endMs = hours * 3600_000;
  const lines: string[] = [JSON.stringify({ version: 2, width: COLS, height: ROWS, timestamp: 1_764_000_000, env: { TERM: 'xterm-256color', SHELL: '/bin/bash' } })];
  const lineAt: number[] = [0];
  const activity: GeneratedCast['activity'] = [];
  const hits: CastHit[] = [];
  const pendingHits = hitAtHours.map((h, i) => ({ at: h * 3600_000, n: i + 1 }));
  let t = 500;
  const emit = (code: 'o' | 'i', data: string) => {
    lines.push(JSON.stringify([Math.round(t) / 1000, code, data]));
    lineAt.push(t);
  };
  const type = (cmd: string) => {
    for (const ch of cmd) {
      t += 60 + r.int(160);
      emit('i', ch);
      t += 2 + r.int(8);
      emit('o', ch);
    }
    t += 150 + r.int(400);
    emit('i', '\r');
    const enter = t;
    t += 5;
    emit('o', '\r\n');
    activity.push({ at: enter, type: 'keystrokes', text: `${cmd}\r` }, { at: enter + 5, type: 'command', text: cmd });
    return enter;
  };
  const out = (text: string, gap = 20) => {
    t += gap;
    emit('o', text);
  };
  const ts = () => `2025-11-24T${String(8 + Math.floor(t / 3600_000)).padStart(2, '0')}:${String(Math.floor(t / 60_000) % 60).padStart(2, '0')}:${String(Math.floor(t / 1000) % 60).padStart(2, '0')}Z`;
  const logLine = (svc: string) =>
    `${ts()} ${svc}[${1000 + r.int(60000)}]: ${r.pick(LOG_WORDS)} ${r.pick(LOG_WORDS)} ${r.int(900)}ms req=${r.hex(12)} ${r.next() < 0.1 ? '\x1b[31mERROR\x1b[0m connection reset by peer' : 'ok'}\r\n`;

  out(PROMPT, 0);
  while (t < endMs - 120_000) {
    const due = pendingHits[0];
    if (due && t >= due.at) {
      pendingHits.shift();
      const command = `vault kv get secret/payments/rotation-HIT${due.n}-${r.hex(6)}`;
      const at = type(command);
      const after = `HIT${due.n}-AFTER-${r.hex(8)}`;
      t = at + 400;
      emit('o', `${after}\r\n======== Secret Path ========\r\nsecret/data/payments\r\n`);
      out(PROMPT);
      hits.push({ at, command, after });
      continue;
    }
    const svc = r.skewed(SERVICES);
    const x = r.next();
    if (x < 0.35) {
      type(r.pick(['ls -la', 'df -h', 'free -m', 'uptime', 'whoami', `systemctl status ${svc}`, `ps aux | grep ${svc}`]));
      const n = 3 + r.int(25);
      let block = '';
      for (let i = 0; i < n; i++) block += `${r.pick(['drwxr-xr-x', '-rw-r--r--', '-rw-------'])} ${1 + r.int(9)} root root ${String(r.int(99999)).padStart(6)} Nov ${1 + r.int(28)} ${String(r.int(24)).padStart(2, '0')}:${String(r.int(60)).padStart(2, '0')} \x1b[01;34m${svc}-${r.hex(4)}\x1b[0m\r\n`;
      out(block, 30 + r.int(200));
    } else if (x < 0.55) {
      type(`tail -f /var/log/${svc}/${svc}.log`);
      const until = t + 30_000 + r.int(150_000);
      while (t < until) out(logLine(svc).repeat(1 + r.int(6)), 100 + r.int(900));
      out('^C\r\n');
    } else if (x < 0.62) {
      type('top');
      out('\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[H\x1b[2J');
      const until = t + 15_000 + r.int(60_000);
      while (t < until) {
        let screen = `\x1b[H\x1b[7mtop - ${ts().slice(11, 19)} up 41 days,  load average: ${(r.next() * 4).toFixed(2)}, ${(r.next() * 4).toFixed(2)}\x1b[0m\x1b[K\r\n`;
        screen += `Tasks: ${200 + r.int(50)} total,   ${1 + r.int(5)} running\x1b[K\r\n\x1b[K\r\n\x1b[7m    PID USER      PR  NI    VIRT    RES  %CPU  %MEM COMMAND\x1b[0m\x1b[K\r\n`;
        for (let i = 0; i < ROWS - 5; i++) screen += `${String(1000 + r.int(60000)).padStart(7)} ${r.pick(['root    ', 'postgres', 'www-data'])}  20   0 ${String(r.int(9e6)).padStart(7)} ${String(r.int(9e5)).padStart(6)} ${(r.next() * 99).toFixed(1).padStart(5)} ${(r.next() * 20).toFixed(1).padStart(5)} ${r.skewed(SERVICES)}\x1b[K\r\n`;
        out(screen, 2000);
      }
      out('\x1b[?1l\x1b>\x1b[?1049l\x1b[23;0;0t');
    } else if (x < 0.68) {
      type(`sudo vim /etc/${svc}/${svc}.conf`);
      out('\x1b[?1049h\x1b[H\x1b[2J');
      let screen = '';
      for (let i = 0; i < ROWS - 1; i++) screen += `\x1b[${i + 1};1H\x1b[33m${String(i + 1).padStart(3)}\x1b[0m ${r.next() < 0.3 ? '# ' : ''}${svc}.${r.pick(LOG_WORDS)} = ${r.int(9999)}`;
      out(`${screen}\x1b[${ROWS};1H"/etc/${svc}/${svc}.conf" ${ROWS - 1}L written`, 200);
      const edits = 5 + r.int(30);
      for (let i = 0; i < edits; i++) {
        t += 300 + r.int(3000);
        emit('i', 'j');
        out(`\x1b[${1 + r.int(ROWS - 1)};5H${svc}.${r.pick(LOG_WORDS)} = ${r.int(9999)}\x1b[K`, 5);
      }
      out('\x1b[?1049l');
    } else if (x < 0.8) {
      type(`journalctl -u ${svc} -n 40 --no-pager`);
      let block = '';
      for (let i = 0; i < 40; i++) block += logLine(svc);
      out(block, 100 + r.int(500));
    } else {
      type(r.pick([`sudo systemctl restart ${svc}`, 'cd /opt/app/current', 'git pull --ff-only', `curl -s localhost:${8000 + r.int(99)}/health`, 'date']));
      out(r.next() < 0.5 ? `{"status":"ok","checks":${r.int(20)}}\r\n` : '', 50 + r.int(300));
    }
    out(PROMPT);
    t += 1000 + r.int(12_000); // think time
  }
  out('exit\r\nlogout\r\n', 500);

  // Chunks: every second of recording time, as the proxy flushes.
  const chunks: Buffer[] = [];
  let cur: string[] = [];
  let chunkSecond = 0;
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const sec = Math.floor(lineAt[i]! / 1000);
    if (cur.length > 0 && sec !== chunkSecond) {
      const b = Buffer.from(cur.join(''));
      chunks.push(b);
      bytes += b.length;
      cur = [];
    }
    chunkSecond = sec;
    cur.push(`${lines[i]}\n`);
  }
  const b = Buffer.from(cur.join(''));
  chunks.push(b);
  bytes += b.length;
  return { chunks, bytes, durationMs: Math.round(t), events: lines.length - 1, hits, activity };
}
