import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { sessionRecordingSettings, type SessionRecordingSettings } from '../../../src/protocol/settings.ts';
import { get, put } from '../api.ts';
import { useLoad } from '../hooks.ts';
import { CheckField, InputField, SelectField, useFormErrors } from '../ui/form.tsx';
import { Card, ErrorBanner, Notice, PageHeader } from '../ui/widgets.tsx';

type Key = keyof SessionRecordingSettings;
type Form = Record<Key, string | boolean>;

const NUMBER_FIELDS: Key[] = ['deleteAfterDays', 'archiveAfterDays', 'processingConcurrency', 'inactivityTimeoutMinutes', 'maxSessionMinutes', 'failClosedSeconds'];
const PATH_FIELDS: Key[] = ['archivePath', 'storagePath'];

function toForm(s: SessionRecordingSettings): Form {
  const f = {} as Form;
  for (const [k, v] of Object.entries(s) as Array<[Key, unknown]>) f[k] = typeof v === 'boolean' ? v : v === null ? '' : String(v);
  return f;
}

/** The form as the API wants it: numbers as numbers (an unparsable one stays text so the API names it). */
function fromForm(f: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f) as Array<[Key, string | boolean]>) {
    if (NUMBER_FIELDS.includes(k) && typeof v === 'string') out[k] = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    else if (PATH_FIELDS.includes(k) && typeof v === 'string') out[k] = v.trim() === '' ? null : v;
    else out[k] = v;
  }
  return out;
}

/** Every problem the shared schema finds, by field (the API checks the same and more). */
function check(body: Record<string, unknown>): Record<string, string> {
  const r = sessionRecordingSettings.safeParse(body);
  if (r.success) return {};
  const out: Record<string, string> = {};
  for (const issue of r.error.issues) {
    const field = String(issue.path[0] ?? '');
    if (field && !out[field]) out[field] = issue.code === 'invalid_type' && NUMBER_FIELDS.includes(field as Key) ? 'must be a whole number' : issue.message;
  }
  return out;
}

/** Settings › Session Recording: every setting of the session-recording tab, validated inline. */
export function SettingsPage() {
  const loaded = useLoad((signal) => get<SessionRecordingSettings>('/settings/session-recording', signal), []);
  const [form, setForm] = useState<Form | null>(null);
  const problems = useFormErrors();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (loaded.data) setForm(toForm(loaded.data));
  }, [loaded.data]);

  if (!form) {
    return (
      <div className="page">
        <PageHeader title="Settings" subtitle="Session Recording" />
        <ErrorBanner error={loaded.error} />
      </div>
    );
  }

  const set = (k: Key, v: string | boolean) => {
    setForm({ ...form, [k]: v });
    setSaved(false);
    problems.clear(k);
  };
  const text = (k: Key, label: string, hint?: ReactNode, attrs: { type?: string; placeholder?: string; disabled?: boolean } = {}) => (
    <InputField id={`s-${k}`} label={label} hint={hint} value={String(form[k])} onChange={(v) => set(k, v)} error={problems.error(k)} {...attrs} />
  );
  const box = (k: Key, label: ReactNode) => <CheckField id={`s-${k}`} label={label} checked={form[k] === true} onChange={(v) => set(k, v)} error={problems.error(k)} />;
  const select = (k: Key, label: string, options: ReadonlyArray<readonly [string, string]>) => <SelectField id={`s-${k}`} label={label} value={String(form[k])} onChange={(v) => set(k, v)} error={problems.error(k)} options={options} />;

  const save = (e: FormEvent) => {
    e.preventDefault();
    const body = fromForm(form);
    const local = check(body);
    problems.reset(local);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    put<SessionRecordingSettings>('/settings/session-recording', body).then(
      (s) => {
        setForm(toForm(s));
        setSaved(true);
        setBusy(false);
      },
      (err: unknown) => {
        problems.fail(err);
        setBusy(false);
      },
    );
  };

  return (
    <div className="page">
      <PageHeader title="Settings" subtitle="Session Recording" />
      {saved ? <Notice kind="success">Settings saved.</Notice> : null}
      <ErrorBanner error={problems.banner} />
      <form className="settings" onSubmit={save} noValidate aria-label="Session recording settings">
        <Card title="Recording">
          <div className="card-body">
            {box('enabled', 'Enable session recording')}
            {box('recordKeystrokes', 'Record keystrokes')}
            {box('recordAllSessions', 'Record all sessions (agents record logins not launched through Vigil)')}
            <div className="grid-2">
              {text('inactivityTimeoutMinutes', 'Inactivity timeout (minutes)', '0 turns it off; up to 1440.', { type: 'number' })}
              {text('maxSessionMinutes', 'Maximum session length (minutes)', '0 means unlimited; up to 10080.', { type: 'number' })}
              {text('failClosedSeconds', 'Fail closed after (seconds)', 'A desktop launcher that cannot reach the server this long stops the launched program; 0 never stops it.', { type: 'number' })}
            </div>
            {box('allowLocalForwarding', 'Allow SSH local port forwarding through the proxy (each forward is recorded)')}
          </div>
        </Card>
        <Card title="Storage">
          <div className="card-body">
            {select('storage', 'Save videos to', [['database', 'Database'], ['directory', 'Directory (network share)']])}
            {text('storagePath', 'Directory path', 'An absolute path the server can write to.', { placeholder: '/mnt/recordings', disabled: form.storage !== 'directory' })}
          </div>
        </Card>
        <Card title="Retention">
          <div className="card-body">
            {box('archiveEnabled', 'Move recordings to disk (archive)')}
            <div className="grid-2">
              {text('archiveAfterDays', 'Days until moved', undefined, { type: 'number', disabled: form.archiveEnabled !== true })}
              {text('archivePath', 'Archive path', undefined, { placeholder: '/srv/vigil-archive', disabled: form.archiveEnabled !== true })}
            </div>
            {box('deleteEnabled', 'Delete recordings')}
            <div className="grid-2">{text('deleteAfterDays', 'Days until deleted', 'Must be more than the days until moved when archiving is on.', { type: 'number', disabled: form.deleteEnabled !== true })}</div>
          </div>
        </Card>
        <Card title="Video">
          <div className="card-body">
            <div className="grid-2">
              {select('videoCodec', 'Video codec', [['vp8', 'VP8'], ['vp9', 'VP9'], ['av1', 'AV1']])}
              {text('processingConcurrency', 'Conversions at once per worker', '1 to 64.', { type: 'number' })}
            </div>
            {box('onDemandProcessing', 'On-demand video processing (make MP4 only when asked)')}
          </div>
        </Card>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
    </div>
  );
}
