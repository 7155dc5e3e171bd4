#!/usr/bin/python3
"""A restore under a real mpirun passes over snapshots that lie about themselves.

build/bin/train_mlp at 2 ranks writes snapshots every 10 steps up to step 60
(keep 3: 40, 50, 60). Then the newest is made to lie, as anyone who can write
the snapshot directory could (tests/tools/snapshot_tamper re-signs the
manifest), and the same command runs again. Every rank must agree to pass
over it at once and resume from the one before, well inside the collective
timeout (120 s): the run exits 0, says which step it resumed from, and ends
with the digest of an uninterrupted run. The lies:

  blob_of_2_40_bytes       the manifest declares a 2^40-byte blob of rank 1
  manifest_of_2_40_bytes   the manifest dataset declares 2^40 bytes (a 7 KB file)
  loader_throws_on_rank_1  rank 1's rng blob holds bytes its program cannot load
                           (std::runtime_error on rank 1 alone, not a lull error)
  renamed_step             step-...60 renamed step-...70
  link_to_another_job      step-...99 is a symbolic link to another job's snapshot
  another_jobs_snapshot    step-...60 is a copy of another job's step 60
  global_view_disagrees    the root file's /tensors/mlp.params links to data.order's bytes
  undecodable_manifest     a manifest dataset whose external file list HDF5 1.10 fails to
                           decode; after such a failure HDF5 cannot close the file and its
                           exit cleanup crashes the ranks (exit 139), so lull never decodes it

    LULL_BIN_DIR=build/bin /usr/bin/python3 tests/runtime/snapshot_trust_test.py [Case.test_x]
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import h5py

BIN = os.environ.get("LULL_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
TRAIN = os.path.join(BIN, "train_mlp")
TAMPER = os.path.join(BIN, "snapshot_tamper")
RANKS = 2
STEPS = "60"
COLLECTIVE_TIMEOUT = 120
PROMPT = 60  # seconds: a rank left waiting would take COLLECTIVE_TIMEOUT


def environment(job):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LULL_") or k == "LULL_BIN_DIR"}
    env.update({
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
        "LULL_LOG_LEVEL": "info",
        "LULL_JOB": job,
        "LULL_EVERY_STEPS": "10",
        "LULL_KEEP": "3",
        "LULL_COLLECTIVE_TIMEOUT": str(COLLECTIVE_TIMEOUT),
    })
    return env


def train(ckpt, job="trust", seed=None):
    command = ["mpirun", "-np", str(RANKS), TRAIN, "--ckpt-dir", ckpt, "--steps", STEPS]
    if seed is not None:
        command += ["--seed", str(seed)]
    start = time.monotonic()
    result = subprocess.run(command, env=environment(job), capture_output=True, text=True,
                            timeout=3 * COLLECTIVE_TIMEOUT)
    return result, time.monotonic() - start


def digest_of(result):
    lines = result.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("digest "):
        raise AssertionError("no digest line at the end of the output:\n" + result.stdout + result.stderr)
    return lines[-1].split()[1]


def step_dir(ckpt, step):
    return os.path.join(ckpt, "step-%012d" % step)


def manifest(root):
    with h5py.File(root, "r") as f:
        return json.loads(f["/lull/manifest"][()].tobytes())


def tamper(*args):
    result = subprocess.run([TAMPER, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"snapshot_tamper {' '.join(args)}: {result.stderr}")


class LyingSnapshot(unittest.TestCase):
    reference = None

    @classmethod
    def setUpClass(cls):
        scratch = tempfile.mkdtemp(prefix="lull-trust-reference-")
        try:
            result, _ = train(os.path.join(scratch, "ckpt"))
            if result.returncode != 0:
                raise AssertionError(result.stdout + result.stderr)
            cls.reference = digest_of(result)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lull-trust-test-")
        self.ckpt = os.path.join(self.dir, "ckpt")
        first, _ = train(self.ckpt)
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        self.assertEqual(sorted(n for n in os.listdir(self.ckpt) if n.startswith("step-")),
                         [os.path.basename(step_dir(self.ckpt, s)) for s in (40, 50, 60)])

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def resume_passes_over(self, lie, resumed_from=50, job="trust"):
        """The same command again: every rank passes over the lie at once and resumes from `resumed_from`."""
        result, took = train(self.ckpt, job)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output)
        self.assertLess(took, PROMPT, f"the resume took {took:.1f} s (a rank waited for the collective timeout?)\n"
                        + output)
        self.assertIn(f"resumed from snapshot step {resumed_from}", result.stderr)
        self.assertIn(lie, result.stderr, "the reason is not logged")
        self.assertEqual(digest_of(result), self.reference, "resumed to other weights than an uninterrupted run's")
        return result

    def test_blob_of_2_40_bytes(self):
        root = os.path.join(step_dir(self.ckpt, 60), "root.h5")
        blobs = manifest(root)["blobs"]
        index = next(i for i, b in enumerate(blobs) if b["rank"] == 1 and b["name"] == "data_cursor")
        tamper("manifest-set", root, f"/blobs/{index}/bytes", str(1 << 40))
        self.resume_passes_over('blob "data_cursor" of rank 1 declares 1099511627776 bytes')

    def test_manifest_of_2_40_bytes(self):
        root = os.path.join(step_dir(self.ckpt, 60), "root.h5")
        tamper("manifest-declare", root, str(1 << 40))
        self.assertLess(os.path.getsize(root), 64 * 1024)
        self.resume_passes_over("declares 1099511627776 bytes, more than the whole root file holds")

    def test_loader_throws_on_rank_1(self):
        tamper("fill-blob", step_dir(self.ckpt, 60), "1", "rng", "x")
        result = self.resume_passes_over("train_mlp: the stored random generator state is malformed")
        malformed = [line for line in result.stderr.splitlines() if "state is malformed" in line]
        self.assertTrue(malformed and all("rank=1]" in line for line in malformed), result.stderr)

    def test_renamed_step(self):
        os.rename(step_dir(self.ckpt, 60), step_dir(self.ckpt, 70))
        self.resume_passes_over("is named for step 70 but holds the snapshot of step 60")

    def test_link_to_another_jobs_snapshot(self):
        other = os.path.join(self.dir, "other")
        result, _ = train(other, job="other", seed=7)
        self.assertEqual(result.returncode, 0, result.stderr)
        os.symlink(step_dir(other, 60), step_dir(self.ckpt, 99))
        shutil.rmtree(step_dir(self.ckpt, 60))  # so that the restore has work to do
        self.resume_passes_over("is a symbolic link")

    def test_another_jobs_snapshot(self):
        other = os.path.join(self.dir, "other")
        result, _ = train(other, job="other", seed=7)
        self.assertEqual(result.returncode, 0, result.stderr)
        shutil.rmtree(step_dir(self.ckpt, 60))
        shutil.copytree(step_dir(other, 60), step_dir(self.ckpt, 60))
        self.resume_passes_over('was written by job "other", not by job "trust"')

    def test_global_view_disagrees(self):
        root = os.path.join(step_dir(self.ckpt, 60), "root.h5")
        with h5py.File(root, "r") as f:
            # A replicated tensor: one external link into rank 0's shard file
            # (Adam's moments are sharded, viewed through virtual datasets).
            link = f.get("/tensors/mlp.params", getlink=True)
            self.assertIsInstance(link, h5py.ExternalLink)
            shard = link.filename
        tamper("retarget-link", root, "/tensors/mlp.params", shard, "/tensors/data.order")
        self.resume_passes_over(f"links to {shard}:/tensors/data.order, not to {shard}:/tensors/mlp.params")


    def test_undecodable_manifest(self):
        root = os.path.join(step_dir(self.ckpt, 60), "root.h5")
        tamper("damage-external-file-list", root, "/lull/manifest")
        self.resume_passes_over("the manifest (/lull/manifest) is not stored in the root file itself")


if __name__ == "__main__":
    unittest.main(verbosity=2)
