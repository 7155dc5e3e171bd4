#!/usr/bin/python3
"""Writes the seed corpora of the snapshot fuzz targets (tests/fuzz/corpus/snapshot_root_file,
snapshot_manifest) from the snapshot the targets make for themselves:

    LULL_FUZZ_SNAPSHOT_DIR=/tmp/fixture build/bin/fuzz_replay_snapshot_root_file tests/fuzz/corpus/snapshot_root_file
    /usr/bin/python3 tests/fuzz/make_snapshot_seeds.py /tmp/fixture build/bin/snapshot_tamper tests/fuzz

The root files: the one lull wrote and ones that lie (links, a virtual dataset and external storage leading
out of the snapshot, a soft link, sizes far past the files', a shard file named outside the directory);
the manifests: the one lull wrote, ones that lie about sizes, ranks, names and boxes, and broken JSON.
Inputs the fuzzers found are added to the corpora by hand, named for what they found.
"""
import json
import os
import shutil
import subprocess
import sys

import h5py

if len(sys.argv) != 4:
    sys.exit("usage: make_snapshot_seeds.py FIXTURE_DIR SNAPSHOT_TAMPER TESTS_FUZZ_DIR")
pristine = os.path.join(sys.argv[1], "pristine-root.h5")
tamper = sys.argv[2]
out = os.path.join(sys.argv[3], "corpus", "snapshot_root_file")
mout = os.path.join(sys.argv[3], "corpus", "snapshot_manifest")

def variant(name, edit):
    path = os.path.join(out, name)
    shutil.copy(pristine, path)
    edit(path)

def h5edit(fn):
    def run(path):
        with h5py.File(path, "r+") as f:
            fn(f)
    return run

def tam(*args):
    def run(path):
        subprocess.run([tamper, args[0], path, *args[1:]], check=True)
    return run

variant("pristine.h5", lambda p: None)
def passwd_link(f):
    del f["/ranks/1/rng"]
    f["/ranks/1/rng"] = h5py.ExternalLink("/etc/passwd", "/x")
variant("external_link_to_etc_passwd.h5", h5edit(passwd_link))
def vds_outside(f):
    del f["/tensors/w"]
    lay = h5py.VirtualLayout(shape=(8, 4), dtype="<f4")
    lay[0:4] = h5py.VirtualSource("shard-00000.h5", "/tensors/w", shape=(4, 4))
    lay[4:8] = h5py.VirtualSource("/tmp/outside/shard-00001.h5", "/tensors/w", shape=(4, 4))
    f.create_virtual_dataset("/tensors/w", lay)
variant("virtual_dataset_reading_outside.h5", h5edit(vds_outside))
def ext_storage(f):
    del f["/tensors/w"]
    f.create_dataset("/tensors/w", shape=(8, 4), dtype="<f4", external=[("/etc/passwd", 0, 128)])
variant("external_storage.h5", h5edit(ext_storage))
def soft(f):
    f["/tensors/x"] = h5py.SoftLink("/lull/manifest")
variant("soft_link.h5", h5edit(soft))
variant("manifest_declaring_2_40_bytes.h5", tam("manifest-declare", str(1 << 40)))
variant("blob_of_2_40_bytes.h5", tam("manifest-set", "/blobs/2/bytes", str(1 << 40)))
variant("shard_file_outside.h5", tam("manifest-set", "/files/1/name", '"../outside/shard-00001.h5"'))

with h5py.File(pristine, "r") as f:
    manifest = json.loads(f["/lull/manifest"][()].tobytes())
def mvariant(name, edit=None, text=None):
    doc = json.loads(json.dumps(manifest))
    if edit: edit(doc)
    with open(os.path.join(mout, name), "w") as fh:
        fh.write(text if text is not None else json.dumps(doc, separators=(",", ":")))
mvariant("pristine.json")
mvariant("blob_of_2_40_bytes.json", lambda d: d["blobs"][2].__setitem__("bytes", 1 << 40))
mvariant("shape_past_2_64_bytes.json", lambda d: d["tensors"][3].__setitem__("shape", [1 << 40, 1 << 40]))
mvariant("shard_file_outside.json", lambda d: d["files"][1].__setitem__("name", "../outside/shard-00001.h5"))
mvariant("offset_past_the_file.json", lambda d: d["tensors"][3]["shards"][1].__setitem__("file_offset", (1 << 64) - 8))
mvariant("overlapping_shards.json", lambda d: d["tensors"][3]["shards"][1].__setitem__("offset", [2, 0]))
mvariant("rank_outside_the_world.json", lambda d: d["blobs"][2].__setitem__("rank", 1 << 30))
mvariant("name_that_is_a_path.json", lambda d: d["tensors"][3].__setitem__("name", "../w"))
mvariant("truncated.json", text=json.dumps(manifest)[:200])
mvariant("empty.json", text="")
mvariant("not_an_object.json", text="[1,2,3]")
print(f"seeds written to {out} and {mout}")
