import { clock, dateTime } from '../format.ts';
import { getActivity } from '../sessions-api.ts';
import type { SessionView } from '../../../src/protocol/sessions.ts';

/**
 * The keystroke and command log of a session as plain text, built from the activity API (every
 * page): one line per command, one per keystroke segment, with its offset and wall-clock time.
 */
export async function buildSshLog(s: SessionView): Promise<string> {
  const lines = [
    `# Vigil session ${s.id}`,
    `# user ${s.user.name} · secret ${s.secret.name ?? '-'} · ${s.target.user}@${s.target.host} · started ${dateTime(s.startedAt)}`,
    '',
  ];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const r: Awaited<ReturnType<typeof getActivity>> = await getActivity(s.id, { type: 'keystrokes,command', cursor, limit: 500 });
    for (const item of r.items) {
      const text = JSON.stringify(item.text).slice(1, -1); // control characters escaped, one line per entry
      lines.push(`${clock(item.at).padStart(8)}  ${dateTime(s.startedAt + item.at)}  ${item.type === 'command' ? 'command  ' : 'keys     '}${text}`);
    }
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  return `${lines.join('\n')}\n`;
}

export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
