"""A replica's first process (run as a script by the process runtime, under the replica's own Python):
it hands the listening socket to the scoring server and, as a child subreaper, takes every process the
replica leaves behind down with it.

``python -I launcher.py <fd> <cgroup folder or -> <server argv...>``: first moves itself into the
replica's cgroup (where the runtime made one: then ``cgroup.kill`` ends every process the replica ever
starts, even after this launcher was SIGKILLed) and prints which way its processes are reaped; forks; the child
moves the socket to fd 3, sets ``LISTEN_FDS=1`` and ``LISTEN_PID`` to its own pid (gunicorn's systemd socket
activation) and execs the server. The launcher stays as the server's parent: with ``PR_SET_CHILD_SUBREAPER``
every orphan of the replica (a ``score.py`` child that started its own session, a double fork) is re-parented
to it rather than to init. It forwards SIGTERM/SIGINT to the server, reaps orphans as they exit and, once the server
has exited, SIGKILLs and reaps every process it still has (as Kubernetes does when a container's main
process ends), then exits as the server did. Where this Python's gunicorn has a control socket (25.1 and
later) the server gets ``--no-control-socket``: its default path, ``$XDG_RUNTIME_DIR/gunicorn.ctl`` or
``~/.gunicorn/gunicorn.ctl``, is outside the home and one for every replica of every home. Standard
library only, any Python 3.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphaned descendants come to this process; False where the kernel refuses (not Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def gunicorn_version():
    """(major, minor) of the gunicorn this Python imports, or None (not installed, unreadable)."""
    try:
        from importlib.metadata import version
        return tuple(int(part) for part in version("gunicorn").split(".")[:2])
    except Exception:  # no importlib.metadata (Python < 3.8), no gunicorn, a local version tag
        return None


def without_control_socket(environ):
    """``environ`` with ``--no-control-socket`` added to GUNICORN_CMD_ARGS where gunicorn knows the flag
    (an older gunicorn would refuse it, and opens no control socket anyway)."""
    found = gunicorn_version()
    if found is None or found < (25, 1):
        return environ
    args = environ.get("GUNICORN_CMD_ARGS", "")
    if "--no-control-socket" not in args.split():
        environ["GUNICORN_CMD_ARGS"] = (args + " --no-control-socket").strip()
    return environ


def children(parent):
    """Pids whose parent is ``parent`` (from /proc; zombies included: they still need reaping)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.append(int(name))
    return found


def kill_and_reap_all():
    """SIGKILL every child until none is left; a killed child's own children come to us and go next."""
    me = os.getpid()
    while True:
        for pid in children(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.wait()
        except ChildProcessError:
            return


def join_cgroup(folder):
    """Move this process (so everything it starts) into ``folder``'s cgroup; the log line saying how the
    replica's processes are reaped."""
    fallback = "; a child subreaper (this launcher) reaps what the replica leaves"
    if folder == "-":
        return "fake-azure: no cgroup for this replica (none writable here)" + fallback
    try:
        with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    except OSError as exc:
        return "fake-azure: could not join cgroup %s (%s)%s" % (folder, exc.strerror or exc, fallback)
    return "fake-azure: replica processes in cgroup %s (killed together on stop)" % folder


def exit_like(status):
    """End this process as the server ended: the same exit code, or the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def main(argv):
    fd = int(argv[1])
    print(join_cgroup(argv[2]), flush=True)
    server_argv = argv[3:]
    become_subreaper()
    server = os.fork()
    if server == 0:
        if fd != 3:
            os.dup2(fd, 3)
            os.close(fd)
        os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
        without_control_socket(os.environ)
        try:
            os.execv(server_argv[0], server_argv)
        finally:
            os._exit(127)
    # Only the server holds the socket: once it dies, connections are refused, not left queued.
    os.close(fd)

    def forward(signum, frame):
        try:
            os.kill(server, signum)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:  # cannot happen while the server runs; be safe
            status = 0
            break
        if pid == server:
            break
        # else: an orphan the replica left that has now exited, reaped
    for sig in (signal.SIGTERM, signal.SIGINT):  # the server's pid is free now: never signal it again
        signal.signal(sig, signal.SIG_IGN)
    kill_and_reap_all()
    exit_like(status)


if __name__ == "__main__":
    main(sys.argv)
