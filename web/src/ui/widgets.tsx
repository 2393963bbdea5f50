import { useEffect, useRef, type ReactNode } from 'react';

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="subtitle">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof Error ? error.message : String(error);
  return (
    <div className="banner banner-error" role="alert">
      {text}
    </div>
  );
}

export function Notice({ children, kind = 'info' }: { children: ReactNode; kind?: 'info' | 'success' | 'warning' }) {
  return (
    <div className={`banner banner-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

/** A modal dialog; with `onSave` (and no `footer`) its footer is the usual Cancel and Save. */
export function Dialog({ title, open, onClose, children, footer, onSave }: { title: string; open: boolean; onClose: () => void; children: ReactNode; footer?: ReactNode; onSave?: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" onClose={onClose} aria-label={title}>
      <div className="dialog-head">
        <h2>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="dialog-body">{children}</div>
      {footer ? (
        <div className="dialog-foot">{footer}</div>
      ) : onSave ? (
        <div className="dialog-foot">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="button button-primary" onClick={onSave}>
            Save
          </button>
        </div>
      ) : null}
    </dialog>
  );
}

export function Tabs<T extends string>({ tabs, value, onChange }: { tabs: Array<{ id: T; label: ReactNode }>; value: T; onChange: (v: T) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t) => (
        <button key={t.id} type="button" role="tab" aria-selected={t.id === value} className={`tab${t.id === value ? ' tab-active' : ''}`} onClick={() => onChange(t.id)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

export function Checkbox({ label, checked, onChange, id, disabled }: { label: ReactNode; checked: boolean; onChange: (v: boolean) => void; id?: string; disabled?: boolean }) {
  return (
    <label className="checkbox">
      <input type="checkbox" id={id} checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      <span>{label}</span>
    </label>
  );
}

/** A titled card (the settings groups, the key form, downloads, the activity grid). */
export function Card({ title, tools, children, className, label }: { title: string; tools?: ReactNode; children: ReactNode; className?: string; label?: string }) {
  return (
    <section className={`card${className ? ` ${className}` : ''}`} aria-label={label}>
      <div className="card-head">
        <h2>{title}</h2>
        {tools}
      </div>
      {children}
    </section>
  );
}

/** "Load more" under a paged list, while the API says there is more. */
export function LoadMore({ more, onMore, small }: { more: boolean; onMore: () => void; small?: boolean }) {
  return more ? (
    <div className="more">
      <button type="button" className={`button${small ? ' button-small' : ''}`} onClick={onMore}>
        Load more
      </button>
    </div>
  ) : null;
}
