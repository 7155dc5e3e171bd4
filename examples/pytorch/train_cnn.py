#!/usr/bin/python3
"""A small CNN trained with DDP over gloo on synthetic images, made preemptible by lull.

    mpirun -np 2 python3 examples/pytorch/train_cnn.py --steps 200 --ckpt-dir /tmp/ckpt/cnn
    lull run --ckpt-dir /tmp/ckpt/cnn -- mpirun -np 2 python3 examples/pytorch/train_cnn.py --steps 200

Deterministic: the same command gives the same last line, `digest <hex>`
(SHA-256 of the model's and the optimizer's state), whether or not it was
preempted (exit 75) and resumed (the same command again) on the way. The
samples are a function of their global index, so which rank sees which
sample depends only on the step and the number of ranks.

Also runs without MPI when started as torchrun starts its workers (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT set): lull then agrees over
torch.distributed.
"""
import argparse
import hashlib
import time

import lull  # first: a preemption notice during `import torch` is then kept, not fatal

import torch
import torch.distributed as dist
import torch.nn.functional as F

IMAGE = 16
CLASSES = 10


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(16 * (IMAGE // 4) ** 2, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(self.dropout(x.flatten(1)))


def samples(first, count):
    """Images and labels of global samples first .. first+count-1: each from its own seed."""
    images, labels = [], []
    for index in range(first, first + count):
        g = torch.Generator().manual_seed(1_000_003 * index + 17)
        label = int(torch.randint(CLASSES, (1,), generator=g))
        image = torch.randn(1, IMAGE, IMAGE, generator=g) * 0.5
        image[0, label, :] += 1.0  # a bright row says the class
        images.append(image)
        labels.append(label)
    return torch.stack(images), torch.tensor(labels)


def digest(model, optimizer):
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    for state in optimizer.state_dict()["state"].values():
        for key in sorted(state):
            if torch.is_tensor(state[key]):
                h.update(state[key].detach().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--global-batch", type=int, default=32, help="samples per step over all ranks")
    parser.add_argument("--step-ms", type=float, default=0, help="extra time per step (to preempt mid-run)")
    parser.add_argument("--ckpt-dir", default=None, help="default: LULL_CKPT_DIR (set by lull run)")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    rt = lull.Runtime(args.ckpt_dir, job="train_cnn")  # MPI_COMM_WORLD under mpirun; torch.distributed under torchrun
    if not dist.is_initialized():
        rt.init_process_group("gloo")  # DDP's gradients go through gloo
    if args.global_batch % rt.world_size:
        raise SystemExit(f"--global-batch {args.global_batch} is not a multiple of {rt.world_size} ranks")
    local_batch = args.global_batch // rt.world_size

    model = torch.nn.parallel.DistributedDataParallel(SmallCNN())
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)

    rt.protect("model", model.module)  # parameters and buffers, restored in place
    rt.protect("opt", optimizer)       # Adam's moments (created now) and hyperparameters
    rt.protect("sched", scheduler)
    rt.protect_rng()                   # dropout's torch RNG, per rank

    loss = torch.tensor(0.0)
    for step in rt.steps(args.steps):  # restores; exits 75 when preempted
        images, labels = samples(step * args.global_batch + rt.rank * local_batch, local_batch)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()                # DDP: gradients averaged over the ranks through gloo
        optimizer.step()
        scheduler.step()
        if args.step_ms:
            time.sleep(args.step_ms / 1000)

    if rt.rank == 0:
        print(f"steps {args.steps} ranks {rt.world_size} last loss {loss.item():.6f}")
        print(f"digest {digest(model.module, optimizer)}")


if __name__ == "__main__":
    main()
