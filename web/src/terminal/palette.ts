/** xterm's default 16 colours, then the 6×6×6 cube and the grey ramp of the 256-colour palette. */
const BASE16 = [
  '#2e3436', '#cc0000', '#4e9a06', '#c4a000', '#3465a4', '#75507b', '#06989a', '#d3d7cf',
  '#555753', '#ef2929', '#8ae234', '#fce94f', '#729fcf', '#ad7fa8', '#34e2e2', '#eeeeec',
];

const hex = (n: number) => n.toString(16).padStart(2, '0');

export const PALETTE: readonly string[] = (() => {
  const out = [...BASE16];
  const steps = [0, 95, 135, 175, 215, 255];
  for (let r = 0; r < 6; r++) for (let g = 0; g < 6; g++) for (let b = 0; b < 6; b++) out.push(`#${hex(steps[r]!)}${hex(steps[g]!)}${hex(steps[b]!)}`);
  for (let i = 0; i < 24; i++) {
    const v = 8 + i * 10;
    out.push(`#${hex(v)}${hex(v)}${hex(v)}`);
  }
  return out;
})();

export const DEFAULT_FG = '#d6dbe1';
export const DEFAULT_BG = '#0f141a';
export const rgb = (n: number): string => `#${hex((n >> 16) & 255)}${hex((n >> 8) & 255)}${hex(n & 255)}`;
