/** Exit codes of `vigil launch` / `vigil login` (docs/LAUNCHER.md). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  serverUnreachable: 3,
  noPermission: 4,
  captureImpossible: 5,
  programFailed: 6,
  terminated: 7,
  failClosed: 8,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI prints as one line and turns into an exit code. */
export class LauncherError extends Error {
  constructor(readonly exitCode: ExitCode, message: string) {
    super(message);
  }
}
