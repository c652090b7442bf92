#!/usr/bin/python3
"""PyTorch reference for `npm run bench:generate`: greedy decoding with a key/value cache.

    /usr/bin/python3 bench/torch_generate.py DIR THREADS

DIR (written by bench/generate.ts) holds config.json, model.safetensors (Llama Lab's weights under HF names) and
spec.json ({prompt, maxNewTokens, warmupTokens}). The model is the parity fixtures' reference
(tests/fixtures/parity/make_fixtures.py); its forward has no cache, so decoding runs its modules here with one.
Prints `torch_tokens=…` (JSON) and `torch_tokens_per_s=…`. Needs Debian's python3-torch and libopenblas0-pthread.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parity"))
from make_fixtures import LlamaForCausalLM, read_config, read_safetensors, repeat_kv, rotate_half  # noqa: E402


def rope(model, positions):
    """cos, sin [T, hd] for integer positions, as the reference's LlamaModel computes them."""
    freqs = positions.float()[:, None] * model.model.inv_freq.float()[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def forward_cached(model, ids, cache):
    """ids [1, T] after len(cache) cached positions → logits [1, V] of the last position; extends the cache."""
    past = cache[0][0].shape[2] if cache else 0
    t = ids.shape[1]
    cos, sin = rope(model, torch.arange(past, past + t))
    mask = torch.triu(torch.full((t, past + t), torch.finfo(torch.float32).min), diagonal=past + 1)
    x = model.model.embed_tokens(ids)
    for i, layer in enumerate(model.model.layers):
        attn, h = layer.self_attn, layer.input_layernorm(x)
        q = attn.q_proj(h).view(1, t, -1, attn.hd).transpose(1, 2)
        k = attn.k_proj(h).view(1, t, -1, attn.hd).transpose(1, 2)
        v = attn.v_proj(h).view(1, t, -1, attn.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if len(cache) > i:
            k, v = torch.cat((cache[i][0], k), 2), torch.cat((cache[i][1], v), 2)
            cache[i] = (k, v)
        else:
            cache.append((k, v))
        k, v = repeat_kv(k, attn.h // attn.kv), repeat_kv(v, attn.h // attn.kv)
        w = F.softmax(torch.matmul(q, k.transpose(2, 3)) * attn.hd ** -0.5 + mask, dim=-1)
        x = x + attn.o_proj(torch.matmul(w, v).transpose(1, 2).reshape(1, t, -1))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(model.model.norm(x[:, -1]))


def greedy(model, prompt, n):
    cache, ids, out = [], torch.tensor([prompt]), []
    for _ in range(n):
        nxt = int(forward_cached(model, ids, cache).argmax(-1))
        out.append(nxt)
        ids = torch.tensor([[nxt]])
    return out


def main():
    directory, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    with open(os.path.join(directory, "config.json")) as f:
        cfg = read_config(json.load(f))
    with open(os.path.join(directory, "spec.json")) as f:
        spec = json.load(f)
    model = LlamaForCausalLM(cfg)
    weights = read_safetensors(os.path.join(directory, "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    allowed = {"lm_head.weight"} if cfg["tie_word_embeddings"] else set()
    if set(missing) - allowed or unexpected:
        raise SystemExit(f"weights do not fit the reference: missing {missing}, unexpected {unexpected}")
    model.eval()
    with torch.no_grad():
        greedy(model, spec["prompt"], spec["warmupTokens"])
        t0 = time.perf_counter()
        tokens = greedy(model, spec["prompt"], spec["maxNewTokens"])
        seconds = time.perf_counter() - t0
    print(f"torch_threads={threads}")
    print(f"torch_tokens={json.dumps(tokens)}")
    print(f"torch_tokens_per_s={len(tokens) / seconds:.1f}")


if __name__ == "__main__":
    main()
