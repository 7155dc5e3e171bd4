#!/usr/bin/python3
"""Without MPI: the workers started as torchrun starts them (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT; Debian's torchrun 1.13 itself crashes
at start on Python 3.11), so lull agrees over torch.distributed (gloo). A
SIGUSR1 to one worker stops both at the same step with exit 75; the rerun
resumes and ends with the digest of an uninterrupted run under mpirun.
    /usr/bin/python3 tests/python_package/torchrun_test.py TorchrunWorkers
"""
import os
import signal
import socket
import subprocess
import time

from harness import PYTHON, Scratch, environment, main, require_torch
from pytorch_example_test import EXAMPLE, digest_of, example

STEPS = 150


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TorchrunWorkers(Scratch):
    def setUp(self):
        super().setUp()
        require_torch(self)

    def workers(self, *args, **settings):
        port = free_port()
        procs = []
        for rank in range(2):
            env = environment(RANK=rank, WORLD_SIZE=2, LOCAL_RANK=rank, MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                              LULL_LOG_LEVEL="info", **settings)
            procs.append(subprocess.Popen([PYTHON, EXAMPLE, "--steps", str(STEPS), "--ckpt-dir", self.ckpt, *args],
                                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        return procs

    def finish(self, procs):
        out = [p.communicate(timeout=600) for p in procs]
        return [p.returncode for p in procs], out

    def test_notice_to_one_worker_stops_both_and_the_rerun_resumes(self):
        reference = subprocess.run(example(2, "--ckpt-dir", self.ckpt + "-reference", steps=STEPS),
                                   env=environment(), capture_output=True, text=True, timeout=600)
        self.assertEqual(reference.returncode, 0, reference.stderr[-3000:])

        procs = self.workers("--step-ms", "40", LULL_EVERY_STEPS=20)
        # Once a periodic snapshot shows both workers in their loop, a notice to rank 1 alone.
        deadline = time.monotonic() + 300
        while not (os.path.isdir(self.ckpt) and any(n.startswith("step-") for n in os.listdir(self.ckpt))):
            self.assertLess(time.monotonic(), deadline, "no periodic snapshot: the workers never trained")
            self.assertIsNone(procs[0].poll(), "rank 0 ended early")
            time.sleep(0.05)
        procs[1].send_signal(signal.SIGUSR1)
        codes, out = self.finish(procs)
        self.assertEqual(codes, [75, 75], [o[1][-2000:] for o in out])

        codes, out = self.finish(self.workers())
        self.assertEqual(codes, [0, 0], [o[1][-2000:] for o in out])
        self.assertIn("resumed from snapshot step", out[0][1])
        self.assertEqual(digest_of(out[0][0]), digest_of(reference.stdout))


if __name__ == "__main__":
    main()
