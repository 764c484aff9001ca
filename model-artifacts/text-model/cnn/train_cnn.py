"""Training loop of the subword CNN text model (model-artifacts/text-model/cnn.ts is the model).

Why Python: the convolution's backward pass has no fast TypeScript home. tfjs-node's word-CNN spent
more than 22 CPU-minutes without finishing one epoch of 1,024 texts on this project's 2 shared cores;
PyTorch's CPU kernels train the same model on all ~140,000 training texts in minutes. Everything else
(data, featurizing, calibration, thresholds, evaluation, ONNX export and its checks) stays in
TypeScript: cnn-train.ts writes the hashed ids and labels, runs this script with /usr/bin/python3 and
reads the weights and logits back. PyTorch is not needed to serve the model or in CI.

    /usr/bin/python3 train_cnn.py INPUT.bin OUT_DIR

INPUT.bin: b"TXTCNN01", uint32 LE header length, JSON header, then (8-byte aligned) the arrays it
lists: `types` int32 [T, slots] (each distinct word row once: word id, char n-gram ids, 0-padded),
`offsets` int32 [rows + 1] and `tokens` int32 (each text's words as indices into `types`), `y`,
`mask` float32 [rows, outputs], `weight` float32 [rows], `role` uint8 [rows] (1 train, 2 validation,
4 score). OUT_DIR gets weights.bin (float32, PyTorch layouts), weights.json (shapes, offsets,
history) and logits.bin (float32 [scored rows, outputs], rows in file order).
"""
import json
import math
import os
import sys
import time

# Idle OpenMP threads sleep instead of spinning: on cores shared with other jobs, spinning makes two
# threads slower than one (the same reason shared/onnx/sessions.ts turns ONNX Runtime's spinning off).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

MAGIC = b"TXTCNN01"
TRAIN, VALIDATION, SCORE = 1, 2, 4


def read_input(path):
    buf = open(path, "rb").read()
    if buf[:8] != MAGIC:
        sys.exit(f"{path}: not a TXTCNN01 file")
    size = int.from_bytes(buf[8:12], "little")
    header = json.loads(buf[12 : 12 + size])
    start = (12 + size + 7) // 8 * 8
    arrays = {
        name: np.frombuffer(buf, a["dtype"], math.prod(a["shape"]), start + a["offset"]).reshape(a["shape"])
        for name, a in header["arrays"].items()
    }
    return header, arrays


class SubwordCnn(nn.Module):
    """Sum of subword embeddings per word → Conv1d → ReLU → masked max over words → [ReLU layer] → logits."""

    def __init__(self, buckets, dim, filters, width, hidden, outputs, dropout):
        super().__init__()
        self.embedding = nn.EmbeddingBag(buckets + 1, dim, mode="sum", sparse=True, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -1 / math.sqrt(dim), 1 / math.sqrt(dim))
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.conv = nn.Conv1d(dim, filters, width, padding=(width - 1) // 2)
        self.hidden = nn.Linear(filters, hidden) if hidden > 0 else None
        self.out = nn.Linear(hidden or filters, outputs)
        self.dropout = nn.Dropout(dropout)

    def forward(self, types, inv, mask):
        # types [U, slots]: the batch's distinct word rows; inv [B, L]: indices into them, U = padding.
        words = self.embedding(types)
        words = torch.cat([words, words.new_zeros(1, words.shape[1])])
        h = torch.relu(self.conv(words[inv].transpose(1, 2))) * mask.unsqueeze(1)
        z = self.dropout(h.max(dim=2).values)
        if self.hidden is not None:
            z = torch.relu(self.hidden(z))
        return self.out(z)


class LazyAdam:
    """Adam on the embedding rows a batch touched only, as trainer.ts does for the bag."""

    def __init__(self, weight):
        self.weight, self.m, self.v = weight, torch.zeros_like(weight), torch.zeros_like(weight)

    def step(self, lr, t):
        g = self.weight.grad.coalesce()
        idx, val = g.indices()[0], g.values()
        m = self.m[idx].mul_(0.9).add_(val, alpha=0.1)
        v = self.v[idx].mul_(0.999).addcmul_(val, val, value=0.001)
        self.m[idx], self.v[idx] = m, v
        step = (m / (1 - 0.9**t)) / ((v / (1 - 0.999**t)).sqrt_().add_(1e-8))
        self.weight.data.index_add_(0, idx, step, alpha=-lr)


def main(input_path, out_dir):
    torch.set_num_threads(2)
    header, a = read_input(input_path)
    hp = header["hyper"]
    torch.manual_seed(hp["seed"])
    rng = np.random.default_rng(hp["seed"])
    types = torch.from_numpy(a["types"].astype(np.int64))
    offsets, tokens, role = a["offsets"], a["tokens"], a["role"]
    lengths = offsets[1:] - offsets[:-1]
    y, mask, weight = (torch.from_numpy(a[k].copy()) for k in ("y", "mask", "weight"))

    def batches(rows, size, shuffle):
        # Rows of similar length batch together (sorted within chunks of 50 batches) to cut padding.
        rows = rng.permutation(rows) if shuffle else rows
        out = []
        for c in range(0, len(rows), size * 50):
            chunk = rows[c : c + size * 50]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        return [out[i] for i in rng.permutation(len(out))] if shuffle else out

    def tensors(batch):
        lens = lengths[batch]
        tok = np.concatenate([tokens[offsets[r] : offsets[r + 1]] for r in batch] + [np.zeros(0, np.int32)])
        uniq, inv_flat = np.unique(tok, return_inverse=True)
        inv = np.full((len(batch), max(1, int(lens.max()))), len(uniq), np.int64)
        starts = np.repeat(np.cumsum(lens) - lens, lens)
        inv[np.repeat(np.arange(len(batch)), lens), np.arange(len(tok)) - starts] = inv_flat
        inv = torch.from_numpy(inv)
        return types[torch.from_numpy(uniq.astype(np.int64))], inv, (inv < len(uniq)).float()

    model = SubwordCnn(header["buckets"], hp["dim"], hp["filters"], hp["width"], hp["hidden"], header["outputs"], hp["dropout"])
    dense = [p for n, p in model.named_parameters() if not n.startswith("embedding")]
    adam, lazy = torch.optim.Adam(dense, lr=hp["lr"]), LazyAdam(model.embedding.weight)
    train_rows = np.flatnonzero(role & TRAIN)
    val_rows = np.flatnonzero(role & VALIDATION)
    total = hp["epochs"] * math.ceil(len(train_rows) / hp["batchSize"])

    def logits_of(rows):
        model.eval()
        out = torch.zeros(len(rows), header["outputs"])
        order = np.argsort(lengths[rows], kind="stable")
        with torch.no_grad():
            for i in range(0, len(rows), 512):
                at = order[i : i + 512]
                out[torch.from_numpy(at)] = model(*tensors(rows[at]))
        return out

    def validation_loss():
        # Unweighted, as trainer.ts's maskedLoss: the mean over rows of the summed masked cross-entropy.
        z, idx = logits_of(val_rows), torch.from_numpy(val_rows)
        bce = F.binary_cross_entropy_with_logits(z, y[idx], reduction="none")
        return float((bce * mask[idx]).sum(1).mean())

    started, step, history, best = time.time(), 0, [], None
    for epoch in range(1, hp["epochs"] + 1):
        t0, loss_sum = time.time(), 0.0
        model.train()
        for batch in batches(train_rows, hp["batchSize"], True):
            step += 1
            lr = hp["lr"] * (1 - 0.95 * (step - 1) / max(1, total - 1))
            idx = torch.from_numpy(batch)
            bce = F.binary_cross_entropy_with_logits(model(*tensors(batch)), y[idx], reduction="none")
            # The loss of trainer.ts: masked, per-row weighted, summed over outputs, mean over the batch.
            row_loss = (bce * mask[idx]).sum(1) * weight[idx]
            model.zero_grad(set_to_none=True)
            row_loss.mean().backward()
            for g in adam.param_groups:
                g["lr"] = lr
            adam.step()
            lazy.step(lr, step)
            loss_sum += float(row_loss.sum())
        summary = {"epoch": epoch, "trainLoss": loss_sum / len(train_rows), "validationLoss": validation_loss()}
        summary["seconds"] = time.time() - t0
        history.append(summary)
        print(f"[train_cnn] {json.dumps(summary)}", file=sys.stderr, flush=True)
        if best is None or summary["validationLoss"] < best[0]:
            best = (summary["validationLoss"], epoch, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])

    state = model.state_dict()
    names = {"embedding.weight": "embedding", "conv.weight": "conv_w", "conv.bias": "conv_b",
             "hidden.weight": "hidden_w", "hidden.bias": "hidden_b", "out.weight": "out_w", "out.bias": "out_b"}
    tensors_json, offset = {}, 0
    with open(os.path.join(out_dir, "weights.bin"), "wb") as f:
        for key, name in names.items():
            if key not in state:
                continue
            data = state[key].contiguous().numpy().astype("<f4")
            f.write(data.tobytes())
            tensors_json[name] = {"shape": list(data.shape), "offset": offset}
            offset += data.nbytes
    score_rows = np.flatnonzero(role & SCORE)
    logits_of(score_rows).numpy().astype("<f4").tofile(os.path.join(out_dir, "logits.bin"))
    with open(os.path.join(out_dir, "weights.json"), "w") as f:
        json.dump({"tensors": tensors_json, "bestEpoch": best[1], "history": history,
                   "seconds": time.time() - started, "torch": torch.__version__}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
