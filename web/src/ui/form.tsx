import { useCallback, useState, type HTMLInputTypeAttribute, type ReactNode } from 'react';
import { ApiError } from '../api.ts';
import { Checkbox } from './widgets.tsx';

/** A labelled form row with its hint and its validation message underneath. */
export function Field({ label, error, hint, children, htmlFor }: { label: string; error?: string | undefined; hint?: ReactNode; children: ReactNode; htmlFor?: string }) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {hint && !error ? <div className="field-hint">{hint}</div> : null}
      <FieldError id={htmlFor} error={error} />
    </div>
  );
}

function FieldError({ id, error }: { id: string | undefined; error: string | undefined }) {
  return error ? (
    <div className="field-error" role="alert" data-field-error={id}>
      {error}
    </div>
  ) : null;
}

interface InputProps {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  hint?: ReactNode;
  type?: HTMLInputTypeAttribute;
  placeholder?: string | undefined;
  disabled?: boolean | undefined;
  autoComplete?: string;
  /** A textarea of this many rows instead of a one-line input. */
  rows?: number;
  mono?: boolean;
}

/** A form row with a text input (or a textarea when `rows` is given). */
export function InputField({ id, label, value, onChange, error, hint, type = 'text', placeholder, disabled, autoComplete, rows, mono }: InputProps) {
  const common = { id, name: id, value, disabled, placeholder, autoComplete, className: mono ? 'mono' : undefined, 'aria-invalid': error ? true : undefined };
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      {rows ? (
        <textarea {...common} rows={rows} spellCheck={false} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input {...common} type={type} inputMode={type === 'number' ? 'numeric' : undefined} onChange={(e) => onChange(e.target.value)} />
      )}
    </Field>
  );
}

/** A form row with a select of `[value, label]` options. */
export function SelectField<V extends string>({ id, label, value, onChange, options, error, hint }: { id: string; label: string; value: V; onChange: (v: V) => void; options: ReadonlyArray<readonly [V, string]>; error?: string | undefined; hint?: ReactNode }) {
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as V)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** A form row with a check box and its validation message. */
export function CheckField({ id, label, checked, onChange, error }: { id: string; label: ReactNode; checked: boolean; onChange: (v: boolean) => void; error?: string | undefined }) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <Checkbox id={id} label={label} checked={checked} onChange={onChange} />
      <FieldError id={id} error={error} />
    </div>
  );
}

/** The field errors of an API 400 (`details.field`), or a banner message for anything else. */
export function splitError(err: unknown): { fields: Record<string, string>; banner: unknown } {
  if (err instanceof ApiError && err.status === 400 && err.field) return { fields: { [err.field]: err.fieldMessage }, banner: null };
  return { fields: {}, banner: err };
}

/**
 * A form's problems: messages by field (shown next to each) and a banner for the rest.
 * `fail(err)` places an API error; `error(k)` is what a row shows.
 */
export function useFormErrors() {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<unknown>(null);
  const fail = useCallback((err: unknown) => {
    const s = splitError(err);
    setErrors(s.fields);
    setBanner(s.banner);
  }, []);
  const reset = useCallback((fields: Record<string, string> = {}) => {
    setErrors(fields);
    setBanner(null);
  }, []);
  const clear = useCallback((k: string) => setErrors((e) => (e[k] ? { ...e, [k]: '' } : e)), []);
  return { errors, banner, setBanner, fail, reset, clear, error: (k: string): string | undefined => errors[k] || undefined };
}

/**
 * The create/edit dialog of a list page: which item is open (`'new'` for a new one), its draft,
 * and saving with the API's field errors placed next to their rows.
 */
export function useEditDialog<V, D, R>(opts: { blank: () => D; draftOf: (v: V) => D; save: (draft: D, editing: V | 'new') => Promise<R>; onSaved: (saved: R, isNew: boolean) => void }) {
  const [editing, setEditing] = useState<V | 'new' | null>(null);
  const [draft, setDraft] = useState<D>(opts.blank);
  const form = useFormErrors();
  const open = (v: V | 'new') => {
    setEditing(v);
    setDraft(v === 'new' ? opts.blank() : opts.draftOf(v));
    form.reset();
  };
  const save = () => {
    if (editing === null) return;
    const isNew = editing === 'new';
    opts.save(draft, editing).then((saved) => {
      setEditing(null);
      opts.onSaved(saved, isNew);
    }, form.fail);
  };
  const set = <K extends keyof D>(k: K, v: D[K]) => setDraft((d) => ({ ...d, [k]: v }));
  return { ...form, editing, isNew: editing === 'new', draft, set, open, save, close: () => setEditing(null) };
}

/** Adds or removes `item` from a list (the check boxes of roles, permissions, people). */
export const toggle = <T,>(list: readonly T[], item: T, on: boolean): T[] => (on ? [...list, item] : list.filter((x) => x !== item));
