/*
 * vigil-proc-connector: the kernel's process events (proc connector over netlink) as text lines,
 * with each exec completed from /proc at once. Built by the agent at start-up (cc -O2); needs root.
 *   F <tab> pid <tab> ppid                                         fork (processes only, not threads)
 *   E <tab> time <tab> pid <tab> ppid <tab> uid <tab> sid <tab> exe <tab> cwd <tab> args <tab> name
 *   X <tab> time <tab> pid <tab> wait-status                       exit (processes only)
 *   L <tab> n                                                      events lost (receive buffer overrun)
 * Strings escape \, tab, newline and \x1f as \\, \t, \n and \u; args are separated by \x1f.
 * time: the kernel's CLOCK_MONOTONIC timestamp of the event in µs. uid (the real uid) and sid are
 * -1 and ppid 0 when /proc could not be read. A line "READY" follows the subscription.
 *
 * Cost: only an exec must be handled at once (/proc is gone when the process is reaped), so execs
 * come on their own socket, which the helper waits on; forks and exits (threads dropped in the
 * kernel by a socket filter) queue on a second socket that is drained every FLUSH_MS. Lines are
 * put in kernel-timestamp order and written to the agent in one batch per FLUSH_MS: 4 wake-ups a
 * second for the agent instead of three per process (the agent posts events every 500 ms, so a
 * shorter batch only costs wake-ups); the queued forks and exits are read 64 to a
 * system call (recvmmsg). Per exec the helper makes 8 system calls (recv, cmdline open + read, exe
 * and cwd readlink, status open + read, one close_range): on a virtual machine each one is dear,
 * and the wake-up and these calls are nearly all the helper's time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_MS 250
/* Lines younger than this wait for the next batch, so a late-queued older event still sorts first. */
#define GUARD_NS (20 * 1000000ull)
#define MAX_ARGS_BYTES 32768

struct rec { uint64_t ts; uint32_t seq, off, len; };
static char held[8 << 20];
static size_t heldLen;
static struct rec recs[1 << 16];
static size_t nrecs;
static uint32_t seqNo;
static char out[1 << 20];
static size_t outLen;
static unsigned long lost;
static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig; stopping = 1; }

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t); /* the clock of the events' timestamp_ns (ktime_get_ns) */
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the agent went away */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void out_put(const char *p, size_t n) {
  if (outLen + n > sizeof out) {
    write_all(out, outLen);
    outLen = 0;
  }
  if (n > sizeof out) { write_all(p, n); return; }
  memcpy(out + outLen, p, n);
  outLen += n;
}

static int by_time(const void *a, const void *b) {
  const struct rec *x = a, *y = b;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the held lines up to `upto` (kernel time) in time order; keeps the younger ones. */
static void emit(uint64_t upto) {
  if (nrecs > 0) {
    qsort(recs, nrecs, sizeof recs[0], by_time);
    size_t i = 0;
    for (; i < nrecs && recs[i].ts <= upto; i++) out_put(held + recs[i].off, recs[i].len);
    /* Compact what is kept to the front of `held`. */
    size_t keep = 0, pos = 0;
    static char tmp[sizeof held];
    for (size_t j = i; j < nrecs; j++) {
      memcpy(tmp + pos, held + recs[j].off, recs[j].len);
      recs[keep] = recs[j];
      recs[keep].off = (uint32_t)pos;
      pos += recs[j].len;
      keep++;
    }
    memcpy(held, tmp, pos);
    heldLen = pos;
    nrecs = keep;
  }
  if (lost > 0) {
    char line[32];
    int n = snprintf(line, sizeof line, "L\t%lu\n", lost);
    out_put(line, (size_t)n);
    lost = 0;
  }
  if (outLen > 0) {
    write_all(out, outLen);
    outLen = 0;
  }
}

/* A line being built in `held`. */
static size_t lineStart;
static void begin(void) {
  if (heldLen + 6 * MAX_ARGS_BYTES + 1024 > sizeof held || nrecs == sizeof recs / sizeof recs[0]) emit(UINT64_MAX);
  lineStart = heldLen;
}
static void end(uint64_t ts) {
  recs[nrecs++] = (struct rec){ ts, seqNo++, (uint32_t)lineStart, (uint32_t)(heldLen - lineStart) };
}
static void raw(const char *s, size_t n) {
  memcpy(held + heldLen, s, n);
  heldLen += n;
}
static void esc(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\\') { held[heldLen++] = '\\'; held[heldLen++] = '\\'; }
    else if (c == '\t') { held[heldLen++] = '\\'; held[heldLen++] = 't'; }
    else if (c == '\n') { held[heldLen++] = '\\'; held[heldLen++] = 'n'; }
    else if (c == 0x1f) { held[heldLen++] = '\\'; held[heldLen++] = 'u'; }
    else held[heldLen++] = c;
  }
}

/* /proc, opened once: each exec's files are opened relative to it ("PID/cmdline"). */
static int procFd = -1;
static int haveCloseRange = 1;

/* Opens /proc/PID/<name> into `p` (which holds "PID/"); -1 when the process is gone. */
static int open_proc(char *p, size_t base, const char *name) {
  strcpy(p + base, name);
  return openat(procFd, p, O_RDONLY | O_CLOEXEC);
}

/* Reads one /proc file whole: /proc gives status, stat and cmdline in one read. */
static ssize_t read_fd(int fd, char *buf, size_t size) {
  return fd < 0 ? -1 : read(fd, buf, size);
}

static long field(const char *status, const char *key) {
  const char *p = strstr(status, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/*
 * Each exec costs system calls, and on a virtual machine each one is dear: the files are opened
 * relative to /proc (no directory to open and close), what vanishes when the process exits
 * (cmdline, exe, cwd) is read first, and the files opened are closed in one close_range.
 */
static void on_exec(int pid, uint64_t ts) {
  static char args[MAX_ARGS_BYTES], exe[MAX_ARGS_BYTES], cwd[MAX_ARGS_BYTES], status[MAX_ARGS_BYTES], statLine[4096];
  char p[48], name[32] = "";
  long ppid = 0, uid = -1, sid = -1;
  size_t base = (size_t)snprintf(p, sizeof p, "%d/", pid);
  int fds[3], nfds = 0;
  int fd = open_proc(p, base, "cmdline");
  if (fd >= 0) fds[nfds++] = fd;
  ssize_t nArgs = read_fd(fd, args, sizeof args);
  strcpy(p + base, "exe");
  ssize_t nExe = readlinkat(procFd, p, exe, sizeof exe);
  strcpy(p + base, "cwd");
  ssize_t nCwd = readlinkat(procFd, p, cwd, sizeof cwd);
  fd = open_proc(p, base, "status");
  if (fd >= 0) fds[nfds++] = fd;
  ssize_t nStatus = read_fd(fd, status, sizeof status - 1);
  if (nStatus > 0) status[nStatus] = 0;
  /* The session id: status's NSsid (its first number is the session as this /proc sees it), or
     stat's ("pid (comm) state ppid pgrp session ..."), always there, where the kernel leaves NSsid
     out (built without PID namespaces). stat is read only then: one file less per exec. */
#ifdef VIGIL_SID_FROM_STAT /* tests build it so to take the path of kernels without NSsid */
  const char *nsSid = NULL;
#else
  const char *nsSid = nStatus > 0 ? strstr(status, "\nNSsid:") : NULL;
#endif
  ssize_t nStat = -1;
  if (nsSid) sid = strtol(nsSid + 7, NULL, 10);
  else {
    fd = open_proc(p, base, "stat");
    if (fd >= 0) fds[nfds++] = fd;
    nStat = read_fd(fd, statLine, sizeof statLine - 1);
  }
  /* One call closes them when they are consecutive (the usual case); close_range needs Linux 5.9. */
  if (nfds > 1 && haveCloseRange && fds[nfds - 1] - fds[0] == nfds - 1) {
    if (syscall(SYS_close_range, (unsigned)fds[0], (unsigned)fds[nfds - 1], 0) == 0) nfds = 0;
    else if (errno == ENOSYS) haveCloseRange = 0;
  }
  for (int i = 0; i < nfds; i++) close(fds[i]);
  if (nStatus > 0) {
    ppid = field(status, "\nPPid:");
    uid = field(status, "\nUid:");
    /* The name survives in a zombie, whose exe and cmdline are already gone. */
    if (strncmp(status, "Name:\t", 6) == 0) {
      size_t i = 0;
      for (const char *q = status + 6; *q && *q != '\n' && i < sizeof name - 1; q++) name[i++] = *q;
      name[i] = 0;
    }
  }
  if (nStat > 0) {
    statLine[nStat] = 0;
    /* comm may hold ')' or spaces: the fields follow the last ')': " S ppid pgrp session". */
    char *q = strrchr(statLine, ')'), *e;
    if (q && q[1] == ' ' && q[2] && q[3] == ' ') {
      q += 4;
      for (int i = 0; i < 3; i++, q = e + 1) {
        long v = strtol(q, &e, 10);
        if (e == q) break;
        if (i == 2) sid = v;
        else if (*e != ' ') break;
      }
    }
  }
  begin();
  char head[96];
  int h = snprintf(head, sizeof head, "E\t%llu\t%d\t%ld\t%ld\t%ld\t", (unsigned long long)(ts / 1000), pid, ppid < 0 ? 0 : ppid, uid, sid);
  raw(head, (size_t)h);
  if (nExe > 0) esc(exe, (size_t)nExe);
  raw("\t", 1);
  if (nCwd > 0) esc(cwd, (size_t)nCwd);
  raw("\t", 1);
  if (nArgs > 0) {
    if (args[nArgs - 1] == 0) nArgs--;
    for (ssize_t i = 0; i < nArgs; i++) {
      char c = args[i];
      if (c == 0) held[heldLen++] = 0x1f;
      else esc(&c, 1);
    }
  }
  raw("\t", 1);
  esc(name, strlen(name));
  raw("\n", 1);
  end(ts);
}

static void on_message(const struct proc_event *ev) {
  char line[96];
  int n;
  switch (ev->what) {
    case PROC_EVENT_EXEC:
      on_exec(ev->event_data.exec.process_tgid, ev->timestamp_ns);
      return;
    case PROC_EVENT_FORK:
      if (ev->event_data.fork.child_pid != ev->event_data.fork.child_tgid) return; /* a thread */
      n = snprintf(line, sizeof line, "F\t%d\t%d\n", ev->event_data.fork.child_tgid, ev->event_data.fork.parent_tgid);
      break;
    case PROC_EVENT_EXIT:
      if (ev->event_data.exit.process_pid != ev->event_data.exit.process_tgid) return;
      n = snprintf(line, sizeof line, "X\t%llu\t%d\t%u\n", (unsigned long long)(ev->timestamp_ns / 1000), ev->event_data.exit.process_tgid, ev->event_data.exit.exit_code);
      break;
    default:
      return;
  }
  begin();
  raw(line, (size_t)n);
  end(ev->timestamp_ns);
}

static void on_datagram(char *buf, size_t len) {
  for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
    if (nh->nlmsg_type == NLMSG_NOOP || nh->nlmsg_type == NLMSG_ERROR) continue;
    struct cn_msg *cn = NLMSG_DATA(nh);
    on_message((struct proc_event *)cn->data);
  }
}

/* Waits for one datagram on `s` and handles it: 1 = handled, 0 = none (timeout), -1 = error. */
static int receive(int s) {
  static char buf[1 << 16];
  ssize_t len = recv(s, buf, sizeof buf, 0);
  if (len < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == ENOBUFS) { lost += 1; return 1; }
    perror("vigil-proc-connector: recv");
    return -1;
  }
  on_datagram(buf, (size_t)len);
  return 1;
}

/* Reads everything queued on `s`, up to 64 datagrams a system call (each fork and exit is one). */
static int drain(int s) {
  enum { N = 64, SIZE = 1024 }; /* one proc event is under 100 bytes */
  static char bufs[N][SIZE];
  static struct iovec iov[N];
  static struct mmsghdr msgs[N];
  for (;;) {
    for (int i = 0; i < N; i++) {
      iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = SIZE };
      msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
    }
    int n = recvmmsg(s, msgs, N, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == ENOBUFS) { lost += 1; continue; }
      perror("vigil-proc-connector: recvmmsg");
      return -1;
    }
    for (int i = 0; i < n; i++) on_datagram(bufs[i], msgs[i].msg_len);
    if (n < N) return 0;
  }
}

#define EV(field) (NLMSG_HDRLEN + sizeof(struct cn_msg) + offsetof(struct proc_event, field))
/* Classic BPF loads are big-endian: compare with the constant as it reads in network order. */
#define LD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV(field))

static int subscribe(struct sock_filter *code, unsigned short len) {
  int s = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (s < 0) { perror("vigil-proc-connector: netlink socket"); return -1; }
  int size = 32 << 20;
  if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sock_fprog prog = { .len = len, .filter = code };
  if (setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) { perror("vigil-proc-connector: socket filter"); return -1; }
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("vigil-proc-connector: bind"); return -1; }
  struct __attribute__((aligned(NLMSG_ALIGNTO))) {
    struct nlmsghdr nl;
    struct __attribute__((packed)) { struct cn_msg cn; enum proc_cn_mcast_op op; } body;
  } req;
  memset(&req, 0, sizeof req);
  req.nl.nlmsg_len = sizeof req;
  req.nl.nlmsg_type = NLMSG_DONE;
  req.nl.nlmsg_pid = 0;
  req.body.cn.id.idx = CN_IDX_PROC;
  req.body.cn.id.val = CN_VAL_PROC;
  req.body.cn.len = sizeof(enum proc_cn_mcast_op);
  req.body.op = PROC_CN_MCAST_LISTEN;
  if (send(s, &req, sizeof req, 0) < 0) { perror("vigil-proc-connector: subscribe"); return -1; }
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_DFL);
  /* SIGTERM (the agent stopping): what is held still goes out. No SA_RESTART: recv returns EINTR. */
  struct sigaction sa = { .sa_handler = on_term };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  /* Real-time priority (best effort): /proc must be read before a short-lived process is reaped.
     The loop blocks in recv(), so it cannot starve the host. */
  struct sched_param sp = { .sched_priority = 10 };
  if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) { /* not permitted: run at normal priority */ }
  struct sock_filter execs[] = {
    LD(what),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXEC), 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  /* Forks and exits of processes; a thread's (pid != tgid) never leaves the kernel. */
  struct sock_filter forksExits[] = {
    LD(what),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_FORK), 0, 4),
    LD(event_data.fork.child_pid),
    BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LD(event_data.fork.child_tgid),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 5, 6),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXIT), 0, 5),
    LD(event_data.exit.process_pid),
    BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LD(event_data.exit.process_tgid),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  procFd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procFd < 0) { perror("vigil-proc-connector: /proc"); return 1; }
  int se = subscribe(execs, sizeof execs / sizeof execs[0]);
  int sf = subscribe(forksExits, sizeof forksExits / sizeof forksExits[0]);
  if (se < 0 || sf < 0) return 1;
  /* The exec socket is read blocking, with a timeout so that batches go out when nothing happens:
     one system call per exec wakes the helper. */
  struct timeval tv = { .tv_sec = 0, .tv_usec = FLUSH_MS * 1000 };
  setsockopt(se, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  write_all("READY\n", 6);
  uint64_t next = now_ns() + FLUSH_MS * 1000000ull;
  for (;;) {
    if (receive(se) < 0) return 1;
    if (stopping) {
      if (drain(se) < 0 || drain(sf) < 0) return 1;
      emit(UINT64_MAX);
      return 0;
    }
    uint64_t t = now_ns();
    if (t >= next) {
      if (drain(se) < 0 || drain(sf) < 0) return 1;
      emit(t - GUARD_NS);
      next = t + FLUSH_MS * 1000000ull;
    }
  }
}
