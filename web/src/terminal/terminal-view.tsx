import { useEffect, useState, type CSSProperties } from 'react';
import type { Run, Screen, ScreenState } from './screen.ts';

function runStyle(r: Run): CSSProperties | undefined {
  if (!r.fg && !r.bg) return undefined;
  // React applies style props through the CSSOM, which the CSP allows (unlike style="" markup).
  return { ...(r.fg ? { color: r.fg } : {}), ...(r.bg ? { backgroundColor: r.bg } : {}) };
}

function runClass(r: Run): string | undefined {
  const c = [r.bold && 't-b', r.italic && 't-i', r.underline && 't-u', r.dim && 't-d', r.strike && 't-s', r.cursor && 't-cursor'].filter(Boolean).join(' ');
  return c || undefined;
}

/** A read-only terminal: the screen's rows as text spans. */
export function TerminalView({ screen, label }: { screen: Screen; label: string }) {
  const [state, setState] = useState<ScreenState>(() => screen.state());
  useEffect(() => {
    setState(screen.state());
    return screen.subscribe(() => setState(screen.state()));
  }, [screen]);
  return (
    <div className="terminal" role="region" aria-label={label} data-cols={state.cols} data-rows={state.rows}>
      <div className="terminal-screen">
        {state.lines.map((runs, y) => (
          <div className="t-row" key={y}>
            {runs.map((r, i) => (
              <span key={i} className={runClass(r)} style={runStyle(r)}>
                {r.text}
              </span>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
