#!/usr/bin/python3
"""Golden fixtures from real PyTorch for recur's RNN / GRU / LSTM (see README.md here).

usage (from the repository root, Debian's torch: apt-get install -y python3-torch python3-numpy):
  /usr/bin/python3 test/golden/make_golden.py [outdir]      # default outdir: this directory

Writes {rnn,gru,lstm}-l{1,2}-{uni,bi}.json and lm-lstm.json. Everything float64, fixed seeds,
deterministic (re-running reproduces the files bit for bit on the same torch build).
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)  # deterministic reductions

HERE = os.path.dirname(os.path.abspath(__file__))
T, B, X, H = 5, 3, 4, 6
INIT = 0.5  # every weight and bias ~ U(-INIT, INIT)
CELLS = {"rnn": lambda **k: nn.RNN(nonlinearity="tanh", **k), "gru": nn.GRU, "lstm": nn.LSTM}


def tensor_entry(t):
    t = t.detach().contiguous()
    data = t.reshape(-1).tolist()  # Python floats / ints; json writes floats with repr (round-trips)
    return {"shape": list(t.shape), "data": data}


def dump(path, obj):
    """JSON with one tensor per line (small diffs, still compact); key order as in the schema:
    metadata, "tensors", then "loss"."""
    obj = dict(obj)
    tensors, loss = obj.pop("tensors"), obj.pop("loss")
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in obj.items()]
    lines.append(' "tensors": {')
    lines.append(",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                            for k, v in tensors.items()))
    lines += [" },", f' "loss": {json.dumps(loss)}', "}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(path) as f:
        json.load(f)  # sanity: valid JSON


def rnn_case(cell, layers, bi, seed):
    torch.manual_seed(seed)
    D = 2 if bi else 1
    m = CELLS[cell](input_size=X, hidden_size=H, num_layers=layers, bidirectional=bi, batch_first=False)
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.uniform_(-INIT, INIT)
    x = torch.randn(T, B, X, requires_grad=True)
    h0 = torch.empty(layers * D, B, H).uniform_(-1, 1).requires_grad_()
    c0 = torch.empty(layers * D, B, H).uniform_(-1, 1).requires_grad_() if cell == "lstm" else None
    R_out = torch.randn(T, B, D * H)
    R_h = torch.randn(layers * D, B, H)
    R_c = torch.randn(layers * D, B, H) if cell == "lstm" else None

    if cell == "lstm":
        out, (h_n, c_n) = m(x, (h0, c0))
        loss = (out * R_out).sum() + (h_n * R_h).sum() + (c_n * R_c).sum()
    else:
        out, h_n = m(x, h0)
        c_n = None
        loss = (out * R_out).sum() + (h_n * R_h).sum()
    loss.backward()

    ts = {"x": x, "h0": h0}
    if c0 is not None:
        ts["c0"] = c0
    params = dict(m.named_parameters())
    ts.update(params)
    ts.update({"R_out": R_out, "R_h": R_h})
    if R_c is not None:
        ts["R_c"] = R_c
    ts.update({"out": out, "h_n": h_n})
    if c_n is not None:
        ts["c_n"] = c_n
    ts["grad.x"] = x.grad
    ts["grad.h0"] = h0.grad
    if c0 is not None:
        ts["grad.c0"] = c0.grad
    for n, p in params.items():
        ts["grad." + n] = p.grad
    return {"torch_version": torch.__version__, "cell": cell, "layers": layers, "bidirectional": bi,
            "T": T, "B": B, "X": X, "H": H, "seed": seed,
            "tensors": {k: tensor_entry(v) for k, v in ts.items()}, "loss": loss.item()}


class LM(nn.Module):
    def __init__(self, V, E, H, L):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, L)  # [T, B, E] layout
        self.linear = nn.Linear(H, V)

    def forward(self, ids):
        out, (h_n, c_n) = self.lstm(self.embedding(ids))  # zero initial state
        return self.linear(out), out, h_n, c_n


def lm_case(seed):
    V, E, Hl, L, Tl, Bl = 7, 5, 6, 2, 4, 2
    torch.manual_seed(seed)
    m = LM(V, E, Hl, L)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if not n.startswith("embedding."):  # embedding keeps nn.Embedding's N(0, 1) init
                p.uniform_(-INIT, INIT)
    inputs = torch.randint(0, V, (Tl, Bl))
    targets = torch.randint(0, V, (Tl, Bl))
    logits, out, h_n, c_n = m(inputs)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))  # mean over T*B
    loss.backward()
    params = dict(m.named_parameters())
    ts = {"inputs": inputs, "targets": targets}
    ts.update(params)
    ts.update({"logits": logits, "lstm_out": out, "h_n": h_n, "c_n": c_n})
    for n, p in params.items():
        ts["grad." + n] = p.grad
    return {"torch_version": torch.__version__, "model": "Embedding(V,E) -> LSTM(E,H,layers) -> Linear(H,V)",
            "cell": "lstm", "layers": L, "bidirectional": False, "V": V, "E": E, "T": Tl, "B": Bl, "H": Hl,
            "seed": seed, "loss_fn": "cross_entropy mean over T*B, logits.reshape(-1, V) vs targets.reshape(-1)",
            "tensors": {k: tensor_entry(v) for k, v in ts.items()}, "loss": loss.item()}


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    os.makedirs(outdir, exist_ok=True)
    seed = 1000
    for cell in ("rnn", "gru", "lstm"):
        for layers in (1, 2):
            for bi in (False, True):
                seed += 1
                name = f"{cell}-l{layers}-{'bi' if bi else 'uni'}.json"
                case = rnn_case(cell, layers, bi, seed)
                dump(os.path.join(outdir, name), case)
                print(f"{name}: loss {case['loss']!r}")
    case = lm_case(2000)
    dump(os.path.join(outdir, "lm-lstm.json"), case)
    print(f"lm-lstm.json: loss {case['loss']!r}")


if __name__ == "__main__":
    main()
