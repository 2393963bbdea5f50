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
 * Cost: only an exec must be handled at once (exe, cwd and cmdline are gone when the process
 * exits), so execs come on their own socket, which the helper waits on; forks, exits and the rare
 * setuid and setsid events (threads' forks and exits dropped in the kernel by a socket filter) queue
 * on a second socket that is drained every FLUSH_MS, 64 datagrams to a system call (recvmmsg).
 * Records are put in kernel-timestamp order and written to the agent in one batch per FLUSH_MS:
 * 4 wake-ups a second for the agent instead of three per process (the agent posts events every
 * 500 ms, so a shorter batch only costs wake-ups). Per exec the helper makes 6 system calls (recv,
 * cmdline open + read + close, exe and cwd readlink): on a virtual machine each one is dear, and
 * the wake-up and these calls are nearly all the helper's time. An exec's parent, real uid and
 * session are not read from /proc but kept in a table of processes, in timestamp order, from the
 * events themselves: a fork copies its parent's, setuid and setsid events change them (the real uid
 * changes only through the setuid family, the session only through setsid). A process the table
 * does not know (it started before the helper, or events were lost) is read from /proc
 * (status, or stat for the session where status has no NSsid) the first time it is needed.
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_MS 250
/* Lines younger than this wait for the next batch, so a late-queued older event still sorts first. */
#define GUARD_NS (20 * 1000000ull)
#define MAX_ARGS_BYTES 32768

/* A held event. exec: off/len locate the escaped "exe\tcwd\targs\tname\n" in `held`; a, b, c the
   parent, session and real uid when /proc had to be read at the exec (`read` 1), else 0, -1, -1. */
enum kind { K_FORK, K_EXEC, K_EXIT, K_UID, K_SID };
struct rec { uint64_t ts; uint32_t seq, off, len; uint8_t kind, read; int32_t pid; int64_t a, b, c; };
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

static void on_record(const struct rec *r);

/* Handles the held records up to `upto` (kernel time) in time order; keeps the younger ones. */
static void emit(uint64_t upto) {
  if (nrecs > 0) {
    qsort(recs, nrecs, sizeof recs[0], by_time);
    size_t i = 0;
    for (; i < nrecs && recs[i].ts <= upto; i++) on_record(&recs[i]);
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
static struct rec *end(uint64_t ts, enum kind kind, int32_t pid, int64_t a) {
  recs[nrecs] = (struct rec){ ts, seqNo++, (uint32_t)lineStart, (uint32_t)(heldLen - lineStart), (uint8_t)kind, 0, pid, a, -1, -1 };
  return &recs[nrecs++];
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

/* Reads /proc/PID/<name> whole into buf (NUL-terminated); -1 when the process is gone. */
static ssize_t read_proc(int pid, const char *name, char *buf, size_t size) {
  char p[48];
  snprintf(p, sizeof p, "%d/%s", pid, name);
  int fd = openat(procFd, p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n >= 0) buf[n] = 0;
  return n;
}

static long field(const char *status, const char *key) {
  const char *p = strstr(status, key);
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* stat's parent and session, and its comm into `name`; comm may hold ')' or spaces, so the fields
   are found after the last ')': " S ppid pgrp session". 0 when it could not be read. */
static int read_stat(int pid, long *ppid, long *sid, char *name, size_t nameSize) {
  char line[4096];
  if (read_proc(pid, "stat", line, sizeof line) <= 0) return 0;
  char *open = strchr(line, '('), *close = strrchr(line, ')'), *e;
  if (!open || !close || close < open || close[1] != ' ' || !close[2] || close[3] != ' ') return 0;
  if (name) {
    size_t n = (size_t)(close - open - 1);
    if (n >= nameSize) n = nameSize - 1;
    memcpy(name, open + 1, n);
    name[n] = 0;
  }
  char *q = close + 4;
  long v[3];
  for (int i = 0; i < 3; i++, q = e + 1) {
    v[i] = strtol(q, &e, 10);
    if (e == q || (i < 2 && *e != ' ')) return 0;
  }
  *ppid = v[0];
  *sid = v[2];
  return 1;
}

/*
 * The table of processes: parent, real uid and session of each process the helper has seen, kept
 * from the events (fork: the parent's; setuid, setsid: the new value; exit: forgotten), so that an
 * exec needs no read of /proc for them. Open addressing, keyed by pid (0 free, -1 deleted).
 */
struct proc { int32_t pid, ppid, uid, sid; };
static struct proc *tab;
static size_t tabCap, tabUsed, tabLive;

static size_t slot_of(int32_t pid) { return ((uint32_t)pid * 2654435761u) & (tabCap - 1); }

static struct proc *pt_find(int32_t pid) {
  if (!tab || pid <= 0) return NULL;
  for (size_t i = slot_of(pid);; i = (i + 1) & (tabCap - 1)) {
    if (tab[i].pid == pid) return &tab[i];
    if (tab[i].pid == 0) return NULL;
  }
}

static void pt_grow(void) {
  struct proc *old = tab;
  size_t oldCap = tabCap;
  tabCap = 4096;
  while (tabCap < tabLive * 4) tabCap *= 2;
  tab = calloc(tabCap, sizeof *tab);
  if (!tab) { perror("vigil-proc-connector: process table"); exit(1); }
  tabUsed = tabLive = 0;
  for (size_t i = 0; i < oldCap; i++) {
    if (old[i].pid <= 0) continue;
    size_t j = slot_of(old[i].pid);
    while (tab[j].pid != 0) j = (j + 1) & (tabCap - 1);
    tab[j] = old[i];
    tabUsed++;
    tabLive++;
  }
  free(old);
}

static struct proc *pt_put(int32_t pid, int32_t ppid, int32_t uid, int32_t sid) {
  if (pid <= 0) return NULL;
  struct proc *e = pt_find(pid);
  if (!e) {
    if (!tab || (tabUsed + 1) * 2 > tabCap) pt_grow();
    size_t i = slot_of(pid);
    while (tab[i].pid > 0) i = (i + 1) & (tabCap - 1);
    if (tab[i].pid == 0) tabUsed++;
    tabLive++;
    e = &tab[i];
  }
  *e = (struct proc){ pid, ppid, uid, sid };
  return e;
}

static void pt_remove(int32_t pid) {
  struct proc *e = pt_find(pid);
  if (e) { e->pid = -1; tabLive--; }
}

/* Events were lost: what the table holds may be stale, so it is read again from /proc as needed. */
static void pt_clear(void) {
  if (tab) memset(tab, 0, tabCap * sizeof *tab);
  tabUsed = tabLive = 0;
}

/* A process the table does not know, read from /proc (status: parent, real uid, NSsid). */
static struct proc *pt_load(int32_t pid) {
  static char status[8192];
  if (pid <= 0 || read_proc(pid, "status", status, sizeof status) <= 0) return NULL;
  long ppid = field(status, "\nPPid:"), uid = field(status, "\nUid:"), sid = -1;
  /* NSsid's first number is the session as this /proc sees it; stat's where the kernel leaves
     NSsid out (built without PID namespaces). */
#ifdef VIGIL_SID_FROM_STAT /* tests build it so to take the path of kernels without NSsid */
  const char *nsSid = NULL;
#else
  const char *nsSid = strstr(status, "\nNSsid:");
#endif
  if (nsSid) sid = strtol(nsSid + 7, NULL, 10);
  else {
    long p2;
    if (!read_stat(pid, &p2, &sid, NULL, 0)) sid = -1;
  }
  return pt_put(pid, (int32_t)(ppid < 0 ? 0 : ppid), (int32_t)uid, (int32_t)sid);
}

static struct proc *pt_get(int32_t pid) {
  struct proc *e = pt_find(pid);
  return e ? e : pt_load(pid);
}

static int forkSocket = -1;
static int drain(int s);

/* True when the fork of `pid` is held (not yet handled): the table will know it by the exec. */
static int fork_held(int32_t pid) {
  for (size_t i = nrecs; i-- > 0;)
    if (recs[i].pid == pid && recs[i].kind == K_FORK) return 1;
  return 0;
}

/*
 * At the exec, at once: what vanishes when the process exits (cmdline, exe, cwd), in 5 system calls
 * (files opened relative to /proc). Parent, uid and session come later from the table, in time
 * order. Only a process whose fork the helper did not see (it started before the helper, or the
 * event was lost) has its status read now, while it still exists; to tell, the queued forks are
 * read first (one recvmmsg, which the batch would have made anyway). stat (which a zombie keeps)
 * is read only when the process was already gone, for its name.
 */
static void on_exec(int pid, uint64_t ts) {
  static char args[MAX_ARGS_BYTES], exe[MAX_ARGS_BYTES], cwd[MAX_ARGS_BYTES], status[8192];
  char p[48], name[64] = "";
  size_t base = (size_t)snprintf(p, sizeof p, "%d/", pid);
  strcpy(p + base, "cmdline");
  int fd = openat(procFd, p, O_RDONLY | O_CLOEXEC);
  ssize_t nArgs = fd < 0 ? -1 : read(fd, args, sizeof args);
  if (fd >= 0) close(fd);
  strcpy(p + base, "exe");
  ssize_t nExe = readlinkat(procFd, p, exe, sizeof exe);
  strcpy(p + base, "cwd");
  ssize_t nCwd = readlinkat(procFd, p, cwd, sizeof cwd);
  int known = pt_find(pid) || fork_held(pid);
  if (!known && drain(forkSocket) == 0) known = fork_held(pid);
  long ppid = 0, sid = -1, uid = -1;
  int wasRead = 0;
  if (!known && read_proc(pid, "status", status, sizeof status) > 0) {
    ppid = field(status, "\nPPid:");
    uid = field(status, "\nUid:");
#ifndef VIGIL_SID_FROM_STAT
    const char *nsSid = strstr(status, "\nNSsid:");
    if (nsSid) sid = strtol(nsSid + 7, NULL, 10);
    else
#endif
    { long p2; if (!read_stat(pid, &p2, &sid, NULL, 0)) sid = -1; }
    wasRead = 1;
  }
  if (nExe <= 0) {
    long p2 = 0, s2 = -1;
    if (read_stat(pid, &p2, &s2, name, sizeof name) && !wasRead) ppid = p2, sid = s2;
  }
  begin();
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
  struct rec *r = end(ts, K_EXEC, pid, ppid);
  r->b = sid;
  r->c = uid;
  r->read = (uint8_t)wasRead;
}

/* One held record, in time order: the table follows it, and forks, execs and exits go out. */
static void on_record(const struct rec *r) {
  char line[128];
  int n = 0;
  struct proc *e;
  switch ((enum kind)r->kind) {
    case K_FORK: {
      struct proc *parent = pt_get((int32_t)r->a);
      pt_put(r->pid, (int32_t)r->a, parent ? parent->uid : -1, parent ? parent->sid : -1);
      n = snprintf(line, sizeof line, "F\t%d\t%d\n", r->pid, (int)r->a);
      break;
    }
    case K_UID:
      if ((e = pt_find(r->pid))) e->uid = (int32_t)r->a;
      return;
    case K_SID:
      if ((e = pt_find(r->pid))) e->sid = r->pid;
      return;
    case K_EXIT:
      pt_remove(r->pid);
      n = snprintf(line, sizeof line, "X\t%llu\t%d\t%u\n", (unsigned long long)(r->ts / 1000), r->pid, (unsigned)r->a);
      break;
    case K_EXEC: {
      long ppid = r->a, uid = r->c, sid = r->b;
      e = pt_find(r->pid);
      if (!e && r->read) e = pt_put(r->pid, (int32_t)(ppid < 0 ? 0 : ppid), (int32_t)uid, (int32_t)sid);
      if (!e) e = pt_load(r->pid);
      if (e) ppid = e->ppid, uid = e->uid, sid = e->sid;
      n = snprintf(line, sizeof line, "E\t%llu\t%d\t%ld\t%ld\t%ld\t", (unsigned long long)(r->ts / 1000), r->pid, ppid < 0 ? 0 : ppid, uid, sid);
      out_put(line, (size_t)n);
      out_put(held + r->off, r->len);
      return;
    }
  }
  out_put(line, (size_t)n);
}

static void on_message(const struct proc_event *ev) {
  switch (ev->what) {
    case PROC_EVENT_EXEC:
      on_exec(ev->event_data.exec.process_tgid, ev->timestamp_ns);
      return;
    case PROC_EVENT_FORK:
      if (ev->event_data.fork.child_pid != ev->event_data.fork.child_tgid) return; /* a thread */
      begin();
      end(ev->timestamp_ns, K_FORK, ev->event_data.fork.child_tgid, ev->event_data.fork.parent_tgid);
      return;
    case PROC_EVENT_EXIT:
      if (ev->event_data.exit.process_pid != ev->event_data.exit.process_tgid) return;
      begin();
      end(ev->timestamp_ns, K_EXIT, ev->event_data.exit.process_tgid, ev->event_data.exit.exit_code);
      return;
    case PROC_EVENT_UID: /* setuid and friends; glibc changes every thread's, /proc shows the leader's */
      if (ev->event_data.id.process_pid != ev->event_data.id.process_tgid) return;
      begin();
      end(ev->timestamp_ns, K_UID, ev->event_data.id.process_tgid, ev->event_data.id.r.ruid);
      return;
    case PROC_EVENT_SID:
      begin();
      end(ev->timestamp_ns, K_SID, ev->event_data.sid.process_tgid, 0);
      return;
    default:
      return;
  }
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
    if (errno == ENOBUFS) { lost += 1; pt_clear(); return 1; }
    perror("vigil-proc-connector: recv");
    return -1;
  }
  on_datagram(buf, (size_t)len);
  return 1;
}

/* Reads everything queued on `s`, up to 64 datagrams a system call (each fork and exit is one). */
static int drain(int s) {
  enum { N = 64, SIZE = 1024 }; /* one proc event is under 100 bytes */
  /* One set of buffers per socket: an exec handled while the exec socket is drained drains the fork socket. */
  static char bufSets[2][N][SIZE];
  static struct iovec iovs[2][N];
  static struct mmsghdr msgSets[2][N];
  int set = s == forkSocket;
  char (*bufs)[SIZE] = bufSets[set];
  struct iovec *iov = iovs[set];
  struct mmsghdr *msgs = msgSets[set];
  for (;;) {
    for (int i = 0; i < N; i++) {
      iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = SIZE };
      msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
    }
    int n = recvmmsg(s, msgs, N, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == ENOBUFS) { lost += 1; pt_clear(); continue; }
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
  /* Forks and exits of processes (a thread's, pid != tgid, never leaves the kernel), setuid and setsid. */
  struct sock_filter forksExits[] = {
    LD(what),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_FORK), 0, 4),
    LD(event_data.fork.child_pid),
    BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LD(event_data.fork.child_tgid),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 7, 8),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXIT), 0, 4),
    LD(event_data.exit.process_pid),
    BPF_STMT(BPF_MISC | BPF_TAX, 0),
    LD(event_data.exit.process_tgid),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 2, 3),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_UID), 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_SID), 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  procFd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procFd < 0) { perror("vigil-proc-connector: /proc"); return 1; }
  int se = subscribe(execs, sizeof execs / sizeof execs[0]);
  int sf = subscribe(forksExits, sizeof forksExits / sizeof forksExits[0]);
  if (se < 0 || sf < 0) return 1;
  forkSocket = sf;
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
