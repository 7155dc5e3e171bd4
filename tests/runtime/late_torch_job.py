#!/usr/bin/python3
"""A PyTorch DDP (gloo) training script made preemptible with the lull package, for the
tests of notices at any moment (notice_anytime_test.py, AnyMomentPyTorch).

    mpirun -np 2 python3 tests/runtime/late_torch_job.py --steps 400 --step-ms 20

Its start is slow as a real script's is: `import torch` takes seconds, then the Runtime,
then torch.distributed's rendezvous (rt.init_process_group), during which a notice may
come too. Deterministic: the last line, "digest <hex>" (rank 0), is the same however
often the run was preempted and resumed.
"""
import argparse
import hashlib
import time

import lull  # first: from here a notice signal is held pending, never fatal

import torch
import torch.distributed as dist


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--step-ms", type=float, default=20)
    args = parser.parse_args()

    torch.manual_seed(7)
    rt = lull.Runtime()
    rt.init_process_group("gloo")
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rt.protect("model", model)
    rt.protect("optimizer", optimizer)
    rt.protect_rng()

    for step in rt.steps(args.steps):
        g = torch.Generator().manual_seed(1_000 * step + rt.rank)  # this rank's batch of this step
        x = torch.randn(8, 16, generator=g)
        y = x.sum(dim=1, keepdim=True).sin()
        loss = torch.nn.functional.mse_loss(ddp(x), y + 0.01 * torch.randn(8, 1))  # the protected RNG
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        time.sleep(args.step_ms / 1000)

    if rt.rank == 0:
        h = hashlib.sha256()
        for tensor in list(model.state_dict().values()):
            h.update(tensor.detach().numpy().tobytes())
        print(f"digest {h.hexdigest()[:16]}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
