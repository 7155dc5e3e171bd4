#!/usr/bin/python3
"""A notice signal during torch.distributed's rendezvous does not make it fail.

Measured before: a SIGUSR1 reaching a rank in `init_process_group` made TCPStore raise
"Interrupted system call" (its connect loop waits in calls the kernel never restarts
after a handler, SA_RESTART or not). Loaded under `lull run` (LULL_NOTICE_FILE set),
liblull blocks the notice signals in the loading thread and the threads it starts, so
they stay pending for the runtime instead. Two real gloo ranks: the store's client waits
for a master that comes 4 s late, and gets SIGUSR1 every 50 ms meanwhile; both finish
their all_reduce. Skipped when torch is missing.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/notice_torch_test.py
"""
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

BIN = os.environ.get("LULL_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
LIBLULL = os.path.join(BIN, "..", "lib", "liblull_runtime.so")


def worker(rank, port):
    """One rank: liblull loaded first (as `import lull` loads it), then the rendezvous."""
    import ctypes
    ctypes.CDLL(LIBLULL)
    import torch
    import torch.distributed as dist
    print("rendezvous", flush=True)
    if rank == 0:
        time.sleep(4)  # the master comes late: the client waits in TCPStore's connect loop
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    x = torch.ones(4)
    dist.all_reduce(x)
    print(f"sum {x.tolist()}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rendezvous(unittest.TestCase):
    def test_notice_signals_during_init_process_group(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("torch is not installed (python3-torch)")
        port = str(free_port())
        env = dict(os.environ, LULL_NOTICE_FILE=os.path.join("/nonexistent-dir", "notice.json"))
        ranks = [subprocess.Popen([sys.executable, __file__, "--worker", str(rank), port], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
        client = ranks[1]
        self.assertEqual(client.stdout.readline().strip(), "rendezvous")
        time.sleep(0.5)  # into init_process_group
        sent = 0
        while ranks[0].poll() is None and client.poll() is None and sent < 60:
            client.send_signal(signal.SIGUSR1)
            sent += 1
            time.sleep(0.05)
        outputs = []
        for rank in ranks:
            try:
                outputs.append(rank.communicate(timeout=120))
            except subprocess.TimeoutExpired:
                rank.kill()
                outputs.append(rank.communicate())
        for number, (rank, (out, err)) in enumerate(zip(ranks, outputs)):
            self.assertEqual(rank.returncode, 0, f"rank {number} after {sent} SIGUSR1s:\n{out}\n{err}")
            self.assertIn("sum [2.0, 2.0, 2.0, 2.0]", out, err)
        self.assertGreater(sent, 10, "the client was not signalled while it waited")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]), sys.argv[3])
    else:
        unittest.main(verbosity=2)
