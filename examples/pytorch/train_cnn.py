#!/usr/bin/python3
"""A small CNN trained with DDP over gloo on synthetic images, made preemptible by lull.

    mpirun -np 2 python3 examples/pytorch/train_cnn.py --steps 200 --ckpt-dir /tmp/ckpt/cnn
    lull run --ckpt-dir /tmp/ckpt/cnn -- mpirun -np 2 python3 examples/pytorch/train_cnn.py --steps 200

Deterministic: the same command gives the same last line, `digest <hex>`
(SHA-256 of the model's parameters and Adam's moments), whether or not it
was preempted (exit 75) and resumed (the same command again) on the way.

Elastic: it may also be resumed on another number of ranks. The data order
is a lull.SampleCursor (each epoch a fixed permutation of the samples, each
step the next --global-batch of them split over the ranks), so the batches do
not depend on the number of ranks and each sample is taken once per epoch.
Adam's moments are split over the ranks ZeRO-1 style (ShardedAdam below):
each rank keeps the slice of the flattened parameters it updates, protected
as a lull.Shard of one global tensor, so a resumed job reads its new slices.
At another number of ranks the result differs from an uninterrupted run's
only by the order of floating-point sums (docs/preemptible-programs.md,
"Resuming on another number of ranks").

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
    # GroupNorm, not BatchNorm: it normalises each sample alone, so a rank's
    # result does not depend on how many samples its share of a step holds.
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.norm1 = torch.nn.GroupNorm(2, 8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.head = torch.nn.Linear(16 * (IMAGE // 4) ** 2, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(x.flatten(1))


def samples(ids):
    """Images and labels of the samples `ids`: each from its own seed."""
    images = torch.empty(len(ids), 1, IMAGE, IMAGE)
    labels = torch.empty(len(ids), dtype=torch.long)
    for i, index in enumerate(ids.tolist()):
        g = torch.Generator().manual_seed(1_000_003 * index + 17)
        labels[i] = int(torch.randint(CLASSES, (1,), generator=g))
        images[i, 0] = torch.randn(IMAGE, IMAGE, generator=g) * 0.5
        images[i, 0, labels[i], :] += 1.0  # a bright row says the class
    return images, labels


class ShardedAdam:
    """Adam with its moments split over the ranks (ZeRO stage 1).

    The parameters, flattened into one vector, are cut into `world_size`
    equal slices; rank r keeps exp_avg and exp_avg_sq of slice r only,
    updates that slice of the parameters from the (DDP-averaged) gradients,
    and the ranks all-gather the updated slices. close() at the end.
    """

    def __init__(self, params, rank, world_size, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.numel = sum(p.numel() for p in self.params)
        self.slice = -(-self.numel // world_size)  # the last slice is padded
        self.first = min(rank * self.slice, self.numel)
        self.end = min(self.first + self.slice, self.numel)
        self.betas, self.eps = betas, eps
        self.exp_avg = torch.zeros(self.end - self.first)
        self.exp_avg_sq = torch.zeros(self.end - self.first)
        # A gloo group of its own, and the buffers it gathers through kept for
        # its life: torch 1.13 aborts at exit when a gloo thread frees the last
        # reference to a Python tensor, so close() joins the group's threads.
        self.group = dist.new_group(backend="gloo")
        self.send = torch.zeros(self.slice)
        self.slices = [torch.empty(self.slice) for _ in range(world_size)]

    def shards(self):
        """The moments as lull protects them: this rank's box of one tensor of all parameters."""
        return {name: lull.Shard(moment, (self.numel,), (self.first,))
                for name, moment in (("exp_avg", self.exp_avg), ("exp_avg_sq", self.exp_avg_sq))}

    def gather(self, mine):
        """Collective: every rank's slice (`mine` is this rank's), joined into a vector of numel."""
        self.send[: len(mine)] = mine
        dist.all_gather(self.slices, self.send, group=self.group)
        return torch.cat(self.slices)[: self.numel]

    @torch.no_grad()
    def step(self, number, lr):
        """Adam's update number `number` (from 1) with learning rate `lr`."""
        beta1, beta2 = self.betas
        grad = torch.cat([p.grad.reshape(-1) for p in self.params])[self.first:self.end]
        self.exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = (self.exp_avg_sq / (1 - beta2 ** number)).sqrt_().add_(self.eps)
        mine = torch.cat([p.reshape(-1) for p in self.params])[self.first:self.end]
        mine = mine - lr / (1 - beta1 ** number) * self.exp_avg / denominator
        flat = self.gather(mine)
        offset = 0
        for p in self.params:
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()

    def close(self):
        dist.destroy_process_group(self.group)
        self.group = None  # the last reference: joins its threads


def learning_rate(step, base=2e-3):
    return base * 0.5 ** (step // 50)  # a function of the step: nothing to protect


def data_set_loss(model, count):
    """The mean loss over the first `count` samples of the data set (the same on every rank)."""
    with torch.no_grad():
        images, labels = samples(torch.arange(count))
        return F.cross_entropy(model(images), labels).item()


def digest(model, optimizer):
    """Collective: the SHA-256 of the parameters and of the whole moments (every rank's slice)."""
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    for moment in (optimizer.exp_avg, optimizer.exp_avg_sq):
        h.update(optimizer.gather(moment).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--samples", type=int, default=1000, help="samples in the data set (an epoch)")
    parser.add_argument("--global-batch", type=int, default=32, help="samples per step over all ranks")
    parser.add_argument("--step-ms", type=float, default=0, help="extra time per step (to preempt mid-run)")
    parser.add_argument("--sample-log", default=None,
                        help="each rank appends `step epoch id...` per step to SAMPLE_LOG.rank<r>")
    parser.add_argument("--ckpt-dir", default=None, help="default: LULL_CKPT_DIR (set by lull run)")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    rt = lull.Runtime(args.ckpt_dir, job="train_cnn")  # MPI_COMM_WORLD under mpirun; torch.distributed under torchrun
    if not dist.is_initialized():
        rt.init_process_group("gloo")  # DDP's gradients go through gloo

    model = torch.nn.parallel.DistributedDataParallel(SmallCNN())
    optimizer = ShardedAdam(model.parameters(), rt.rank, rt.world_size)
    cursor = lull.SampleCursor(args.samples, seed=0)  # the same on every rank

    rt.protect("model", model.module)  # parameters, restored in place
    for name, shard in optimizer.shards().items():
        rt.protect(f"adam.{name}", shard)  # one tensor of all ranks' slices
    rt.protect("data.order", cursor)   # epoch and position: right at any number of ranks
    rt.protect_rng()                   # per rank: what dropout or augmentation would draw (none here)

    log = open(f"{args.sample_log}.rank{rt.rank}", "a") if args.sample_log else None
    try:
        for step in rt.steps(args.steps):  # restores; exits 75 when preempted
            ids = cursor.rank_batch(args.global_batch, rt.rank, rt.world_size)  # this rank's share
            images, labels = samples(ids)
            model.zero_grad()
            # DDP averages the ranks' gradients: scaled so that the average is the
            # mean over the step's samples, however they are split.
            scale = rt.world_size / cursor.step_size(args.global_batch)
            loss = F.cross_entropy(model(images), labels, reduction="sum") * scale
            loss.backward()
            optimizer.step(step + 1, learning_rate(step))
            if log:
                print(step + 1, cursor.epoch, *ids.tolist(), file=log, flush=True)
            cursor.advance(args.global_batch)  # every rank, the same argument
            if args.step_ms:
                time.sleep(args.step_ms / 1000)

        loss = data_set_loss(model.module, min(args.samples, 512))
        final = digest(model.module, optimizer)
        if rt.rank == 0:
            print(f"steps {args.steps} ranks {rt.world_size} epoch {cursor.epoch} position {cursor.position}")
            print(f"data set loss {loss:.9f}")
            print(f"digest {final}")
    finally:
        optimizer.close()


if __name__ == "__main__":
    main()
