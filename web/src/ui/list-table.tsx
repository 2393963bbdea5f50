import type { ReactNode } from 'react';
import { Empty } from './widgets.tsx';

export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Classes of the cells; the header takes only the column-layout ones (`col-…`). */
  className?: string;
  /** Left out (header and cells), e.g. a column only administrators see. */
  hidden?: boolean;
}

/**
 * A list page's table: one row per item, one cell per column. With `empty`, an empty list shows
 * that message instead of an empty table. Cells are React children: text stays text.
 */
export function ListTable<T>({ label, rows, rowKey, columns, empty, className }: { label: string; rows: readonly T[]; rowKey: (row: T) => string; columns: Array<Column<T>>; empty?: ReactNode; className?: string }) {
  if (rows.length === 0) return empty !== undefined ? <Empty>{empty}</Empty> : null;
  const cols = columns.filter((c) => !c.hidden);
  return (
    <table className={`table${className ? ` ${className}` : ''}`} aria-label={label}>
      <thead>
        <tr>
          {cols.map((c, i) => (
            <th key={i} className={c.className?.split(' ').filter((x) => x.startsWith('col-')).join(' ') || undefined}>
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={rowKey(r)}>
            {cols.map((c, i) => (
              <td key={i} className={c.className}>
                {c.cell(r)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
