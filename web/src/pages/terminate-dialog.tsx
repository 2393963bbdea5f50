import { useEffect, useState } from 'react';
import { errorText } from '../api.ts';
import { sendMessage, terminateSession, type SessionItem } from '../sessions-api.ts';
import { Field } from '../ui/form.tsx';
import { Dialog } from '../ui/widgets.tsx';

/**
 * Per active session: send the user a message (the session goes on) or terminate it, optionally
 * telling the user why.
 */
export function TerminateDialog({ session, onClose, onDone }: { session: SessionItem | null; onClose: () => void; onDone: (what: string) => void }) {
  const [mode, setMode] = useState<'message' | 'terminate'>('message');
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setMode('message');
    setText('');
    setError(null);
    setBusy(false);
  }, [session?.id]);

  const submit = () => {
    if (!session) return;
    if (mode === 'message' && !text.trim()) {
      setError('Write the message to send.');
      return;
    }
    setBusy(true);
    setError(null);
    const who = `${session.user.name} on ${session.secret.name ?? session.target.host}`;
    const call = mode === 'message' ? sendMessage(session.id, text.trim()) : terminateSession(session.id, text);
    call.then(
      () => onDone(mode === 'message' ? `Message sent to ${who}.` : `Session of ${who} terminated.`),
      (err: unknown) => {
        setError(errorText(err));
        setBusy(false);
      },
    );
  };

  return (
    <Dialog
      title="Terminate or message session"
      open={session !== null}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className={`button ${mode === 'terminate' ? 'button-danger' : 'button-primary'}`} disabled={busy} onClick={submit}>
            {mode === 'message' ? 'Send message' : 'Terminate session'}
          </button>
        </>
      }
    >
      {session ? (
        <p className="muted">
          <strong>{session.user.name}</strong> on <strong>{session.secret.name ?? '—'}</strong> ({session.target.user}@{session.target.host})
        </p>
      ) : null}
      <div className="radio-group" role="radiogroup" aria-label="Action">
        <label className="radio">
          <input type="radio" name="action" value="message" checked={mode === 'message'} onChange={() => setMode('message')} />
          <span>
            <strong>Send a message</strong>
            <small>The user sees it; the session continues.</small>
          </span>
        </label>
        <label className="radio">
          <input type="radio" name="action" value="terminate" checked={mode === 'terminate'} onChange={() => setMode('terminate')} />
          <span>
            <strong>Terminate the session</strong>
            <small>Ends the user's programs, with an optional message.</small>
          </span>
        </label>
      </div>
      <Field label={mode === 'message' ? 'Message' : 'Message (optional)'} htmlFor="control-text" error={error ?? undefined}>
        <textarea id="control-text" rows={3} maxLength={2000} value={text} onChange={(e) => setText(e.target.value)} />
      </Field>
    </Dialog>
  );
}
