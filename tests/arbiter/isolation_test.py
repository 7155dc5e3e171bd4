#!/usr/bin/python3
"""The node arbiter with a non-root submitter (nobody, via --socket-group):
its job runs as its uid; it sees and cancels only its own jobs and may not
drain; modes of the state directory, socket and journal. Runs an installed
lull (cmake --install into a world-readable scratch prefix), as a user
would, so that it works from a checkout nobody may enter.

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/arbiter/isolation_test.py Isolation
"""

import os
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arbiter_harness import BUILD, CMAKE, NOBODY, TRAIN, ArbiterCase, wait_for  # noqa: E402


def reachable_by_others(path):
    """Whether every directory from / down to `path` lets other users through (o+x)."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def install_for_other_users(prefix):
    """`cmake --install` of the build tree into `prefix`, readable by every user.

    Another user cannot use the build tree's binaries when the checkout lies in a directory only
    its owner may enter (mktemp -d, /root): what such a user runs is an installed lull."""
    result = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"cmake --install {BUILD} --prefix {prefix} failed:\n{result.stdout}{result.stderr}")
    subprocess.run(["chmod", "-R", "a+rX", prefix], check=True)  # whatever the umask was
    return os.path.join(prefix, "bin", "lull")


@unittest.skipUnless(os.geteuid() == 0, "runs a job and the clients as another user (nobody): needs root")
class Isolation(ArbiterCase):
    def setUp(self):
        # The job and the clients run as nobody: everything they touch must be reachable by
        # other users, whichever TMPDIR this test was given.
        base = next((d for d in (tempfile.gettempdir(), "/tmp", "/var/tmp") if reachable_by_others(d)), None)
        if base is None:
            self.skipTest("no temporary directory other users can enter (TMPDIR, /tmp, /var/tmp)")
        self.dir = tempfile.mkdtemp(prefix="lull-arbiter-test-", dir=base)
        os.chmod(self.dir, 0o755)
        self.arbiters = []

    def test_other_uid(self):
        lull = install_for_other_users(self.path("prefix"))
        version = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", lull,
                                  "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(version.returncode, 0, f"the installed lull does not run as nobody:\n{version.stderr}")
        socket_dir = self.path("run")
        os.mkdir(socket_dir, 0o755)
        arbiter = self.arbiter(socket=os.path.join(socket_dir, "arbiter.sock"), socket_group="nogroup", lull=lull)
        self.assertEqual(stat.S_IMODE(os.stat(arbiter.state).st_mode), 0o750)
        self.assertEqual(stat.S_IMODE(os.stat(arbiter.socket).st_mode), 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(arbiter.state, "journal.jsonl")).st_mode), 0o600)

        root_job = arbiter.submit("acme", "spot", 1, self.path("ckpt-root"), TRAIN, "--steps", "2000", "--step-ms", "10")
        mine = self.path("ckpt-nobody")
        os.mkdir(mine, 0o700)
        os.chown(mine, NOBODY, NOBODY)
        script = self.path("whoami.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nid -u > \"$LULL_CKPT_DIR/uid\"\necho \"$CUDA_VISIBLE_DEVICES\" > \"$LULL_CKPT_DIR/gpus\"\n")
        os.chmod(script, 0o755)
        nobody_job = arbiter.submit("globex", "spot", 2, mine, script, user=NOBODY, cwd=self.dir)
        wait_for(lambda: os.path.exists(os.path.join(mine, "gpus")), 30, "the nobody job to run")
        time.sleep(0.3)
        with open(os.path.join(mine, "uid")) as f:
            self.assertEqual(f.read().strip(), str(NOBODY))
        with open(os.path.join(mine, "gpus")) as f:
            self.assertEqual(len(f.read().strip().split(",")), 2)

        seen = arbiter.status(user=NOBODY)
        self.assertEqual({j["job"] for j in seen["jobs"]} | {e["job"] for e in seen["ended"]}, {nobody_job})
        self.assertIn(root_job, {j["job"] for j in arbiter.status()["jobs"]})
        result = arbiter.lull("cancel", str(root_job), check=False, user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"no job {root_job} of yours", result.stderr)
        result = arbiter.lull("drain", check=False, user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn("only root or the arbiter's user may drain", result.stderr)
        result = arbiter.lull("submit", "--tenant", "acme", "--class", "spot", "--ranks", "1", "--ckpt-dir",
                              self.path("ckpt-root"), "--", "/bin/true", check=False, user=NOBODY)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not by the submitter", result.stderr)

        arbiter.lull("cancel", str(root_job))
        arbiter.wait_idle([root_job, nobody_job], 30)
        outcomes = {e["job"]: e["outcome"] for e in arbiter.status()["ended"]}
        self.assertEqual(outcomes[root_job], "cancelled")
        self.assertEqual(outcomes[nobody_job], "finished")
        kinds = [e["event"] for e in arbiter.job_events(root_job)]
        self.assertIn("cancel", kinds)
        self.assertIn("kill", kinds)


if __name__ == "__main__":
    unittest.main(verbosity=2)
