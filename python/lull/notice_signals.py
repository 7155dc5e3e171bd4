"""Holding preemption notices back while torch.distributed connects.

A signal that interrupts a blocking call makes it fail with EINTR even with
SA_RESTART when the call is one the kernel never restarts (poll, connect
with a timeout): a notice during init_process_group made TCPStore raise
"Interrupted system call". So the notice signals (LULL_NOTICE_SIGNALS,
default SIGUSR1) are blocked in the calling thread while it connects; a
notice that comes meanwhile stays pending and is taken (by lull's handler,
as a notice) when they are unblocked. Threads torch starts meanwhile
inherit the blocked mask, so they never take a notice either.
"""

import contextlib
import os
import signal

NOTICE_SIGNALS_ENV = "LULL_NOTICE_SIGNALS"


def notice_signals():
    """The signals lull takes as a notice, as LULL_NOTICE_SIGNALS names them (USR1 by default)."""
    names = os.environ.get(NOTICE_SIGNALS_ENV, "") or "USR1"
    found = set()
    for name in names.split(","):
        name = name.strip().upper()
        if not name:
            continue
        number = getattr(signal, name if name.startswith("SIG") else "SIG" + name, None)
        if isinstance(number, signal.Signals):
            found.add(number)
    return found or {signal.SIGUSR1}


@contextlib.contextmanager
def notices_held():
    """Blocks the notice signals in this thread for the body (they stay pending)."""
    held = notice_signals()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
