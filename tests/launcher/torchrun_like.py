#!/usr/bin/python3
"""A stand-in for `torchrun --nproc-per-node N` (Debian's torchrun 1.13 crashes at start on
Python 3.11): it starts N workers with the environment torchrun gives them (RANK, LOCAL_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and behaves as torchrun's agent does
where `lull run` meets it:
  - handles SIGTERM, SIGINT, SIGHUP and SIGQUIT only (SIGUSR1 keeps its default action: it kills);
  - on one of them, sends SIGTERM to every worker and SIGKILL 30 s later (--kill-after);
  - exits 0 when every worker exited 0, otherwise 1 (a ChildFailedError), 75 included.

    torchrun_like.py [--nproc N] [--kill-after S] -- WORKER ARGS...
"""
import argparse
import os
import signal
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nproc", type=int, default=1)
    parser.add_argument("--kill-after", type=float, default=30.0)
    parser.add_argument("worker", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    worker = args.worker[1:] if args.worker[:1] == ["--"] else args.worker

    stop = []
    for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signo, lambda number, frame: stop.append(number))

    workers = []
    for rank in range(args.nproc):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(args.nproc),
                   LOCAL_WORLD_SIZE=str(args.nproc), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=os.environ.get("MASTER_PORT", "29511"))
        workers.append(subprocess.Popen(worker, env=env))

    kill_at = None
    while any(w.poll() is None for w in workers):
        if stop and kill_at is None:
            for w in workers:
                if w.poll() is None:
                    w.send_signal(signal.SIGTERM)
            kill_at = time.monotonic() + args.kill_after
        if kill_at is not None and time.monotonic() > kill_at:
            for w in workers:
                if w.poll() is None:
                    w.kill()
        time.sleep(0.01)
    codes = [w.returncode for w in workers]
    print(f"torchrun_like: workers exited {codes}", file=sys.stderr, flush=True)
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
