#!/usr/bin/python3
"""PyTorch interop fixtures for recur: PyTorch models saved as safetensors, fixed inputs, and the
logits PyTorch computed (see interop/README.md beside this script).

usage (from the repository root, Debian's torch: apt-get install -y python3-torch python3-numpy):
  /usr/bin/python3 test/golden/make_interop.py [outdir]      # default outdir: ./interop here

Each case is  [nn.Embedding(V, E) | one-hot(V)] -> nn.RNN / nn.GRU / nn.LSTM -> nn.Linear(D*H, K)
with the attribute names `embedding`, `rnn`, `out` (so the state dict has PyTorch's own names:
embedding.weight, rnn.weight_ih_l0, ..., rnn.weight_ih_l0_reverse, ..., out.weight, out.bias).
Unidirectional cases are language models (K = V); bidirectional ones are taggers (K = 3 tags),
since a language model reads left to right only.

Writes {cell}-l{layers}-{uni|bi}-{emb|onehot}.safetensors (float32 weights, written by hand from
the specification: Debian has no python3-safetensors) and .json (config for `recur import`, the
inputs and the logits). The weights are float32; the logits are computed in float64 from those
same float32 weights (model.double()), so they are exact for the stored weights and recur's
float32 error is the only error a test sees. Fixed seeds; re-running reproduces the files.
"""
import copy, json, os, struct, sys
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
V, E, H, T, B = 7, 5, 6, 5, 3
TOKENS = ["<UNK>", "<EOS>", "a", "b", "c", "d", "e"]
LABELS = ["O", "B-X", "I-X"]
INIT = 0.5  # recurrent and linear weights and biases ~ U(-INIT, INIT); the embedding keeps N(0, 1)
MODULES = {"rnn": lambda *a, **k: nn.RNN(*a, nonlinearity="tanh", **k), "gru": nn.GRU, "lstm": nn.LSTM}


class Net(nn.Module):
    def __init__(self, cell, layers, bidirectional, embedding, outputs):
        super().__init__()
        self.V = V
        self.embedding = nn.Embedding(V, embedding) if embedding > 0 else None
        self.rnn = MODULES[cell](embedding if embedding > 0 else V, H, num_layers=layers, bidirectional=bidirectional)
        self.out = nn.Linear((2 if bidirectional else 1) * H, outputs)

    def forward(self, ids):  # ids (T, B) -> logits (T, B, K); zero initial states
        if self.embedding is not None:
            x = self.embedding(ids)
        else:
            x = F.one_hot(ids, self.V).to(self.out.weight.dtype)
        y, _ = self.rnn(x)
        return self.out(y)


def write_safetensors(path, state_dict, metadata):
    """The safetensors format by hand: u64 LE header length, JSON header padded with spaces to a
    multiple of 8, then the tensors' float32 little-endian bytes, contiguous, in name order."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(state_dict):
        data = state_dict[name].detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(state_dict[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Reads it back (a check of the writer): name -> float32 tensor."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").copy()).reshape(entry["shape"])
    return out


def tensor_entry(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def case(cell, layers, bidirectional, embedding, seed, outdir):
    torch.manual_seed(seed)
    K = len(LABELS) if bidirectional else V
    m = Net(cell, layers, bidirectional, embedding, K)  # float32
    with torch.no_grad():
        for name, p in m.named_parameters():
            if not name.startswith("embedding."):
                p.uniform_(-INIT, INIT)
    ids = torch.randint(0, V, (T, B))
    name = f"{cell}-l{layers}-{'bi' if bidirectional else 'uni'}-{'emb' if embedding > 0 else 'onehot'}"
    path = os.path.join(outdir, name + ".safetensors")
    write_safetensors(path, m.state_dict(), {"format": "pt"})
    back = read_safetensors(path)
    assert set(back) == set(m.state_dict()) and all(torch.equal(back[k], v) for k, v in m.state_dict().items())

    with torch.no_grad():
        logits = copy.deepcopy(m).double()(ids)  # exact for the stored float32 weights
        logits32 = m(ids)
    config = {"model": "tagger" if bidirectional else "language-model", "cell": cell, "layers": layers, "hidden": H,
              "bidirectional": bidirectional, "embedding": embedding, "vocabulary": TOKENS, "level": "char"}
    if bidirectional:
        config["labels"] = LABELS
    fixture = {"torch_version": torch.__version__, "seed": seed,
               "model": "[nn.Embedding(V,E) | one-hot(V)] -> nn.%s(H, layers) -> nn.Linear(D*H, K)" % cell.upper(),
               "V": V, "E": embedding, "H": H, "K": K, "T": T, "B": B, "config": config,
               "inputs": tensor_entry(ids), "logits": tensor_entry(logits),
               "float32_error": float((logits32.double() - logits).abs().max())}
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    return name, fixture


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "interop")
    os.makedirs(outdir, exist_ok=True)
    seed = 3000
    for cell in ("rnn", "gru", "lstm"):
        for layers in (1, 2):
            for bidirectional in (False, True):
                seed += 1
                # each cell and each direction meets both input kinds
                embedding = E if (layers == 1) != bidirectional else 0
                name, fixture = case(cell, layers, bidirectional, embedding, seed, outdir)
                print(f"{name}: seed {seed}, PyTorch float32 vs float64 logits {fixture['float32_error']:.1e}")


if __name__ == "__main__":
    main()
