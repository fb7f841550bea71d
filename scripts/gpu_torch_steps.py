"""PyTorch eager train steps on the GPU for scripts/gpu-check.sh: LeNet5 (batch 100) and the VGG-like model (batch 128),
the shapes of VecQ.NET's models (VECQ.md section 6), SGD momentum 0.9, cross-entropy on a fixed synthetic batch.
Prints one line per model: RESULT|<model>|train_ms|<median>."""
import statistics
import sys
import time

import torch
import torch.nn as nn


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.BatchNorm2d(64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.BatchNorm1d(512), nn.Linear(512, 10))


def vgg_like():
    def block(i, o, pool):
        layers = [nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(o)]
        return layers + ([nn.MaxPool2d(2)] if pool else [])
    return nn.Sequential(*block(3, 64, False), *block(64, 64, True), *block(64, 128, False), *block(128, 128, True),
                         *block(128, 256, False), *block(256, 256, True), nn.Flatten(), nn.Linear(4096, 1024), nn.ReLU(),
                         nn.BatchNorm1d(1024), nn.Dropout(0.5), nn.Linear(1024, 10))


def steps(model, x, y, n):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for i in range(n + 3):
        torch.cuda.synchronize()
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        torch.cuda.synchronize()
        if i >= 3:
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    g = torch.Generator().manual_seed(7)
    for name, make, shape, batch in [("lenet5", lenet5, (1, 28, 28), 100), ("vgg-like", vgg_like, (3, 32, 32), 128)]:
        x = torch.rand((batch, *shape), generator=g).to(dev)
        y = torch.randint(0, 10, (batch,), generator=g).to(dev)
        print(f"RESULT|{name}|train_ms|{steps(make().to(dev), x, y, n):.3f}", flush=True)


if __name__ == "__main__":
    main()
