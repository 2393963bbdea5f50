import fs from 'node:fs';
import path from 'node:path';

const FILE = path.resolve('docs/PERFORMANCE.md');

/**
 * Replaces (or appends) the `## <name>` section of docs/PERFORMANCE.md with `lines`; a second
 * section of the same name (left by a merge) is removed, so the file never holds two versions.
 */
export function recordResult(name: string, lines: string[]): void {
  const text = fs.existsSync(FILE) ? fs.readFileSync(FILE, 'utf8') : '# Performance\n\nNumbers measured by `npm run bench -- <name>`; each section says where and when.\n';
  const section = `## ${name}\n\n${lines.join('\n')}\n`;
  const re = new RegExp(`\\n*## ${name}\\n[\\s\\S]*?(?=\\n## |$)`, 'g');
  let first = true;
  const next = re.test(text)
    ? text.replace(re, (m) => {
        if (!first) return '';
        first = false;
        return `${/^\n*/.exec(m)![0]}${section.trimEnd()}\n`;
      }).trimEnd() + '\n'
    : `${text.trimEnd()}\n\n${section}`;
  fs.writeFileSync(FILE, next);
}
