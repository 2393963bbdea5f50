/** A terminal login for tests: `argv` runs as a session leader on a fresh pty (like sshd or getty would start it). */
export const PTY_DRIVER = `
import os, pty, sys, select
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
sys.stderr.write('PID %d\\n' % pid); sys.stderr.flush()
while True:
    r, _, _ = select.select([fd, 0], [], [])
    if fd in r:
        try: d = os.read(fd, 65536)
        except OSError: break
        if not d: break
        os.write(1, d)
    if 0 in r:
        d = os.read(0, 65536)
        if not d: break
        os.write(fd, d)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
`;
