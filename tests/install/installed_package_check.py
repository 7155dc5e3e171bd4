#!/usr/bin/python3
"""The installed lull Python package, as /usr/bin/python3 finds it under a
prefix: it imports from the prefix (not the build tree), its libraries come
from the prefix, and it checkpoints and reads back an array.

    installed_package_check.py PREFIX PACKAGE_DIR WORK_DIR
"""
import os
import sys

prefix, package_dir, work = (os.path.realpath(p) for p in sys.argv[1:4])
import lull  # noqa: E402  (PYTHONPATH names PACKAGE_DIR)
import numpy  # noqa: E402

assert os.path.realpath(lull.__file__).startswith(package_dir + os.sep), lull.__file__
with open("/proc/self/maps") as maps:
    libraries = {line.split()[-1] for line in maps if "liblull_" in line}
assert libraries, "no lull library is mapped"
outside = sorted(p for p in libraries if not os.path.realpath(p).startswith(prefix + os.sep))
assert not outside, f"lull libraries loaded from outside {prefix}: {outside}"

os.makedirs(work, mode=0o700, exist_ok=True)
array = numpy.arange(12, dtype=numpy.float32).reshape(3, 4)
with lull.Runtime(os.path.join(work, "ckpt"), job="installed") as rt:
    rt.protect("a", array)
    rt.restore()
    rt.checkpoint(1)
loaded = lull.open_snapshot(os.path.join(work, "ckpt"))
assert loaded.step == 1 and (loaded.read("a") == array).all()
print("installed package: ok", lull.__file__)
