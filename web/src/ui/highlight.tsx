/** `text` with each case-insensitive occurrence of `q` in a <mark>; everything stays React text. */
export function Highlight({ text, q }: { text: string; q: string }) {
  const needle = q.trim().toLowerCase();
  if (!needle) return <>{text}</>;
  const lower = text.toLowerCase();
  const parts: Array<{ s: string; hit: boolean }> = [];
  let i = 0;
  while (i < text.length) {
    const j = lower.indexOf(needle, i);
    if (j < 0) break;
    if (j > i) parts.push({ s: text.slice(i, j), hit: false });
    parts.push({ s: text.slice(j, j + needle.length), hit: true });
    i = j + needle.length;
  }
  if (i < text.length) parts.push({ s: text.slice(i), hit: false });
  return <>{parts.map((p, k) => (p.hit ? <mark key={k}>{p.s}</mark> : <span key={k}>{p.s}</span>))}</>;
}
