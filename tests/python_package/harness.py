"""What the lull Python package's tests share: the package from the build
tree, a fresh snapshot directory per test, child Python processes (each
Runtime initialises MPI once per process), and the skip when torch is absent."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.environ.get("LULL_PYTHON_PACKAGE_DIR", os.path.join(HERE, "..", "..", "build", "python"))
BIN_DIR = os.environ.get("LULL_BIN_DIR", os.path.join(HERE, "..", "..", "build", "bin"))
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}


def has_torch():
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def require_torch(case):
    if not has_torch():
        case.skipTest(f"{PYTHON} has no torch: install python3-torch (scripts/install-deps.sh --with-bench)")


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LULL_") and not k.startswith("OMPI_")}
    env.update(MPI_ENV)
    env["PYTHONPATH"] = PACKAGE_DIR
    env["LULL_LOG_LEVEL"] = "warn"
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Scratch(unittest.TestCase):
    """A test with its own snapshot directory (self.ckpt) and child processes."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lull-python-")
        os.chmod(self.tmp, 0o700)
        self.ckpt = os.path.join(self.tmp, "ckpt")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def python(self, code, *args, ranks=None, env=None, timeout=300, check=True):
        """Runs `code` (a script's text) in a child /usr/bin/python3 (under mpirun -np `ranks` when given)."""
        path = os.path.join(self.tmp, f"program_{abs(hash(code))}.py")
        with open(path, "w") as f:
            f.write(textwrap.dedent(code))
        command = [PYTHON, path, *map(str, args)]
        if ranks is not None:
            command = ["mpirun", "--bind-to", "none", "-np", str(ranks), *command]
        result = subprocess.run(command, env=env or environment(), capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result


def main():
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
