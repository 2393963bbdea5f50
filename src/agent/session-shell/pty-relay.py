# vigil session-shell pty relay: runs the real shell in a new pty, relays the user's terminal to it
# and copies input/output to the local vigil agent over a unix socket (JSON lines). Input typed
# while the pty's ECHO flag is off (passwords) is marked e=0 and never recorded as keystrokes.
# Usage: python3 pty-relay.py <agent-socket> <shell> [args...]
import base64, errno, fcntl, json, os, select, signal, socket, struct, sys, termios, time, tty

def winsize(fd):
    try:
        rows, cols, _, _ = struct.unpack('HHHH', fcntl.ioctl(fd, termios.TIOCGWINSZ, b'\0' * 8))
        return cols or 80, rows or 24
    except OSError:
        return 80, 24

def main():
    sock_path, argv = sys.argv[1], sys.argv[2:]
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    interactive = os.isatty(stdin)
    cols, rows = winsize(stdin) if interactive else (80, 24)
    agent = None
    try:
        agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        agent.connect(sock_path)
    except OSError as e:
        agent = None
        sys.stderr.write('vigil session-shell: the vigil agent is not reachable (%s); this session is not recorded\r\n' % e.strerror)

    pid, master = os.forkpty()
    if pid == 0:
        os.execvp(argv[0], argv)
    os.set_blocking(master, True)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

    def send(obj):
        nonlocal agent
        if agent is None:
            return
        try:
            agent.sendall((json.dumps(obj) + '\n').encode())
        except OSError:
            agent = None

    send({'t': 'hello', 'pid': os.getpid(), 'shellPid': pid, 'cols': cols, 'rows': rows, 'at': int(time.time() * 1000), 'term': os.environ.get('TERM', 'xterm')})

    def on_winch(_s, _f):
        c, r = winsize(stdin)
        try:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
        except OSError:
            pass
        send({'t': 'r', 'cols': c, 'rows': r, 'at': int(time.time() * 1000)})
    signal.signal(signal.SIGWINCH, on_winch)

    saved = None
    if interactive:
        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)
    fds = [master, stdin]
    try:
        while True:
            try:
                ready, _, _ = select.select(fds, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError as e:
                    if e.errno == errno.EIO:
                        break
                    raise
                if not data:
                    break
                os.write(stdout, data)
                send({'t': 'o', 'd': base64.b64encode(data).decode(), 'at': int(time.time() * 1000)})
            if stdin in ready:
                data = os.read(stdin, 65536)
                if not data:
                    fds.remove(stdin)
                    continue
                # On Linux the master reports the slave's termios. ECHO off in canonical mode is a
                # password prompt (getpass, read -s); raw-mode programs (readline, editors) turn
                # ECHO off too but echo for themselves, so their input is recorded.
                lflag = termios.tcgetattr(master)[3]
                echo = 1 if (lflag & termios.ECHO) or not (lflag & termios.ICANON) else 0
                send({'t': 'i', 'd': base64.b64encode(data).decode(), 'e': echo, 'at': int(time.time() * 1000)})
                os.write(master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSAFLUSH, saved)
    _, status = os.waitpid(pid, 0)
    send({'t': 'exit', 'at': int(time.time() * 1000)})
    sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else 0)

main()
