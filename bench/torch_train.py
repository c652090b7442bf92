#!/usr/bin/python3
"""PyTorch reference for `npm run bench:train`: the same Llama, batches and AdamW as bench/train.ts.

    /usr/bin/python3 bench/torch_train.py SPEC.json THREADS

SPEC.json (written by bench/train.ts) holds the HF config fields, the AdamW settings, the clip norm, the number of
warm-up and timed steps, and the token batches (`inputs`/`labels`, each [steps][B][T]). The model is the parity
fixtures' reference (tests/fixtures/parity/make_fixtures.py, HF names and math). Prints `torch_tokens_per_s=…`
and `torch_final_loss=…` as its last lines. Needs Debian's python3-torch and libopenblas0-pthread.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity"))
from make_fixtures import LlamaForCausalLM, read_config  # noqa: E402


def main():
    spec_path, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    with open(spec_path) as f:
        spec = json.load(f)
    torch.manual_seed(0)
    cfg = read_config(spec["config"])
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # HF's _init_weights: N(0, 0.02²) for matrices; norms stay at 1
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, spec["config"].get("initializer_range", 0.02))
    opt_spec = spec["adamw"]
    # Our AdamW decays rank ≥ 2 tensors only (decayMatricesOnly): two param groups say the same here.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [dict(params=decay, weight_decay=opt_spec["weightDecay"]), dict(params=no_decay, weight_decay=0.0)],
        lr=opt_spec["lr"], betas=tuple(opt_spec["betas"]), eps=opt_spec["eps"],
    )
    inputs = torch.tensor(spec["inputs"], dtype=torch.long)  # [steps, B, T]
    labels = torch.tensor(spec["labels"], dtype=torch.long)  # [steps, B, T]
    vocab = cfg["vocab_size"]

    def step(i):
        opt.zero_grad(set_to_none=True)
        logits = model(inputs[i])  # [B, T, V]
        loss = F.cross_entropy(logits.reshape(-1, vocab), labels[i].reshape(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), spec["clipNorm"])
        opt.step()
        return loss.item()

    warmup = spec["warmupSteps"]
    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    loss = float("nan")
    for i in range(warmup, inputs.shape[0]):
        loss = step(i)
    seconds = time.perf_counter() - t0
    tokens = (inputs.shape[0] - warmup) * inputs.shape[1] * inputs.shape[2]
    print(f"torch_threads={threads}")
    print(f"torch_final_loss={loss:.4f}")
    print(f"torch_tokens_per_s={tokens / seconds:.1f}")


if __name__ == "__main__":
    main()
