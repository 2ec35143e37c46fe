"""Training and inference speed of the `cnn` and `bn-cnn` examples' models in PyTorch eager mode, batch 128.

The reference for Gradus' CUDA backend (issue 6): run it on the same GPU as the Gradus benchmark and compare
images per second. Reads the MNIST training images from GRADUS_DATA/mnist (gzip IDX) when present, else uses
random images of the same shape; speed does not depend on the pixel values.

    python benchmarks/pytorch/train_speed.py --device cuda --steps 400
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from torch import nn


def cnn():
    # Flux model zoo CNN as Gradus' CnnCommand.model builds it.
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(288, 10))


def bn_cnn():
    # The PyTorch notebook's BatchNorm CNN as Gradus' BnCnnCommand.model builds it.
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 256), nn.ReLU(), nn.BatchNorm1d(256), nn.Linear(256, 10))


def mnist_images(n):
    root = os.environ.get("GRADUS_DATA")
    path = os.path.join(root, "mnist", "train-images-idx3-ubyte.gz") if root else None
    if path and os.path.exists(path):
        with gzip.open(path, "rb") as f:
            _, count, rows, cols = struct.unpack(">IIII", f.read(16))
            data = np.frombuffer(f.read(), dtype=np.uint8).reshape(count, 1, rows, cols)
        return torch.from_numpy(data[:n].astype(np.float32) / 255.0), "mnist"
    return torch.rand(n, 1, 28, 28), "random"


def bench(name, make, device, steps, batch):
    torch.manual_seed(0)
    model = make().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    images, source = mnist_images(batch * 8)
    xs = [images[i * batch:(i + 1) * batch].to(device) for i in range(8)]
    ys = [torch.randint(0, 10, (batch,), device=device) for _ in range(8)]

    def train(n):
        model.train()
        for i in range(n):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[i % 8]), ys[i % 8])
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    def infer(n):
        model.eval()
        with torch.no_grad():
            for i in range(n):
                model(xs[i % 8]).argmax(1)
        if device.type == "cuda":
            torch.cuda.synchronize()

    train(50)
    t0 = time.perf_counter()
    train(steps)
    t_train = time.perf_counter() - t0
    infer(50)
    t0 = time.perf_counter()
    infer(steps)
    t_infer = time.perf_counter() - t0
    return {"model": name, "device": str(device), "batch": batch, "steps": steps, "data": source,
            "train_images_per_s": steps * batch / t_train, "train_ms_per_step": 1000 * t_train / steps,
            "infer_images_per_s": steps * batch / t_infer, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args()
    device = torch.device(a.device)
    results = [bench(n, m, device, a.steps, a.batch) for n, m in (("cnn", cnn), ("bn-cnn", bn_cnn))]
    for r in results:
        print(f"{r['model']:7s} {r['device']:5s} train {r['train_images_per_s']:10.0f} images/s "
              f"({r['train_ms_per_step']:.2f} ms/step), inference {r['infer_images_per_s']:10.0f} images/s")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
