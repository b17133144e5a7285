#!/usr/bin/python3
"""Cross-check of the golden fixtures WITHOUT torch (NumPy only): re-implements the documented
PyTorch conventions (README.md here) in float64, compares every recorded forward tensor and the
loss, and compares every recorded gradient with central finite differences.
usage: python3 test/golden/check_golden.py [dir]   (a few seconds); exits 1 on a mismatch"""
import json, glob, os, sys
import numpy as np
def load(p):
    d = json.load(open(p)); t = {k: np.array(v["data"], dtype=float if not k in ("inputs","targets") else int).reshape(v["shape"]) for k, v in d["tensors"].items()}
    return d, t
sig = lambda z: 1/(1+np.exp(-z))
def cell_step(cell, x, h, c, Wi, Wh, bi, bh):
    Hh = h.shape[-1]
    if cell == "rnn":
        return np.tanh(x@Wi.T + bi + h@Wh.T + bh), None
    if cell == "gru":
        gi = x@Wi.T + bi; gh = h@Wh.T + bh
        r = sig(gi[:, :Hh] + gh[:, :Hh]); z = sig(gi[:, Hh:2*Hh] + gh[:, Hh:2*Hh])
        n = np.tanh(gi[:, 2*Hh:] + r*gh[:, 2*Hh:])
        return (1-z)*n + z*h, None
    g = x@Wi.T + bi + h@Wh.T + bh
    i, f, gg, o = sig(g[:, :Hh]), sig(g[:, Hh:2*Hh]), np.tanh(g[:, 2*Hh:3*Hh]), sig(g[:, 3*Hh:])
    c2 = f*c + i*gg
    return o*np.tanh(c2), c2
def rnn_forward(cell, L, D, t):
    inp = t["x"]; hn, cn = [], []
    for l in range(L):
        outs = []
        for d in range(D):
            s = "_reverse" if d else ""
            P = [t[f"{n}_l{l}{s}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h = t["h0"][l*D+d]; c = t["c0"][l*D+d] if "c0" in t else None
            ys = [None]*inp.shape[0]
            order = range(inp.shape[0]-1, -1, -1) if d else range(inp.shape[0])
            for k in order:
                h, c = cell_step(cell, inp[k], h, c, *P); ys[k] = h
            outs.append(np.stack(ys)); hn.append(h); cn.append(c)
        inp = np.concatenate(outs, -1)
    return inp, np.stack(hn), (np.stack(cn) if cell == "lstm" else None)
def rnn_loss(d, t):
    D = 2 if d["bidirectional"] else 1
    out, hn, cn = rnn_forward(d["cell"], d["layers"], D, t)
    l = (out*t["R_out"]).sum() + (hn*t["R_h"]).sum()
    if cn is not None: l += (cn*t["R_c"]).sum()
    return l, {"out": out, "h_n": hn, "c_n": cn}
def lm_loss(d, t):
    e = t["embedding.weight"][t["inputs"]]
    tt = {"x": e, "h0": np.zeros((2, d["B"], d["H"])), "c0": np.zeros((2, d["B"], d["H"]))}
    tt.update({k[5:]: v for k, v in t.items() if k.startswith("lstm.")})
    out, hn, cn = rnn_forward("lstm", 2, 1, tt)
    logits = out @ t["linear.weight"].T + t["linear.bias"]
    lg = logits.reshape(-1, d["V"]); m = lg.max(1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(lg-m).sum(1)))
    loss = (lse - lg[np.arange(len(lg)), t["targets"].reshape(-1)]).mean()
    return loss, {"logits": logits, "lstm_out": out, "h_n": hn, "c_n": cn}
bad = 0
for p in sorted(glob.glob((sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))) + "/*.json")):
    d, t = load(p); f = lm_loss if "V" in d else rnn_loss
    loss, outs = f(d, t)
    err = abs(loss - d["loss"])
    for k, v in outs.items():
        if v is not None: err = max(err, np.abs(v - t[k]).max())
    gerr = 0; eps = 1e-6; n = 0
    for g in [k for k in t if k.startswith("grad.")]:
        name = g[5:]; a = t[name]; num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            o = a[idx]; a[idx] = o+eps; lp = f(d, t)[0]; a[idx] = o-eps; lm = f(d, t)[0]; a[idx] = o
            num[idx] = (lp-lm)/(2*eps); n += 1
        gerr = max(gerr, np.abs(num - t[g]).max() / max(1, np.abs(t[g]).max()))
    print(f"{os.path.basename(p)}: fwd max abs err {err:.2e}, FD grad rel err {gerr:.2e} over {n} entries")
    bad += err > 1e-12 or gerr > 1e-6
sys.exit(1 if bad else 0)
