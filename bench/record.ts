import fs from 'node:fs';
import path from 'node:path';

const FILE = path.resolve('docs/PERFORMANCE.md');

/** Replaces (or appends) the `## <name>` section of docs/PERFORMANCE.md with `lines`. */
export function recordResult(name: string, lines: string[]): void {
  const text = fs.existsSync(FILE) ? fs.readFileSync(FILE, 'utf8') : '# Performance\n\nNumbers measured by `npm run bench -- <name>`; each section says where and when.\n';
  const section = `## ${name}\n\n${lines.join('\n')}\n`;
  const re = new RegExp(`## ${name}\\n[\\s\\S]*?(?=\\n## |$)`);
  const next = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  fs.writeFileSync(FILE, next);
}
