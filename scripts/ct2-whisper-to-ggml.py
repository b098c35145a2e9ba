#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model directory to a whisper.cpp ggml file.

Usage: ct2-whisper-to-ggml.py MODEL_DIR OUT.bin

MODEL_DIR holds model.bin (CTranslate2 binary format, version 6,
WhisperSpec), config.json and vocabulary.txt. Standard library only: the
weights are float16 and are copied as they are; rank-1 tensors, conv biases
and positional embeddings are widened to float32 as whisper.cpp expects.
"""

import json
import math
import os
import struct
import sys

CT2_DTYPES = {0: ("f", 4), 1: ("b", 1), 2: ("h", 2), 3: ("i", 4), 4: ("e", 2), 5: (None, 2)}
F32, F16 = 0, 1


class Var:
    def __init__(self, name, shape, dtype, data):
        self.name, self.shape, self.dtype, self.data = name, shape, dtype, data

    def rows(self, start, stop):
        """Rows [start, stop) of a 1-D or 2-D tensor."""
        width = 1
        for d in self.shape[1:]:
            width *= d
        size = CT2_DTYPES[self.dtype][1]
        shape = [stop - start] + list(self.shape[1:])
        return Var(self.name, shape, self.dtype, self.data[start * width * size:stop * width * size])


def read_ct2(path):
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def string():
        nonlocal pos
        (n,) = take("H")
        s = buf[pos:pos + n].rstrip(b"\0").decode()
        pos += n
        return s

    (version,) = take("I")
    if version != 6:
        sys.exit(f"{path}: CTranslate2 binary version {version}, expected 6")
    spec = string()
    if spec != "WhisperSpec":
        sys.exit(f"{path}: spec {spec!r}, expected WhisperSpec")
    take("I")  # spec revision
    (count,) = take("I")
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = list(take("I" * rank)) if rank else []
        (dtype,) = take("B")
        (nbytes,) = take("I")
        variables[name] = Var(name, shape, dtype, buf[pos:pos + nbytes])
        pos += nbytes
    (aliases,) = take("I")
    for _ in range(aliases):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if pos != len(buf):
        sys.exit(f"{path}: {len(buf) - pos} trailing bytes: not a complete model")
    return variables


def to_f32(var):
    fmt, size = CT2_DTYPES[var.dtype]
    n = len(var.data) // size
    if fmt == "f":
        return var.data
    return struct.pack(f"<{n}f", *struct.unpack(f"<{n}{fmt}", var.data))


def hz_to_mel(f):
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return min_log_mel + math.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp


def mel_to_hz(m):
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return min_log_hz * math.exp(logstep * (m - min_log_mel)) if m >= min_log_mel else f_sp * m


def mel_filters(sr=16000, n_fft=400, n_mels=80):
    """Slaney-style mel filterbank, as openai-whisper's mel_filters.npz."""
    n_freqs = n_fft // 2 + 1
    fft_freqs = [i * (sr / 2) / (n_freqs - 1) for i in range(n_freqs)]
    lo, hi = hz_to_mel(0.0), hz_to_mel(sr / 2)
    mel_f = [mel_to_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    out = []
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        for f in fft_freqs:
            lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i])
            upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1])
            out.append(max(0.0, min(lower, upper)) * enorm)
    return n_mels, n_freqs, out


def gpt2_byte_decoder():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def tensor_plan(v, n_audio_layer, n_text_layer, n_state):
    """Yields (ggml name, Var, as_f32) in the order whisper.cpp reads them."""
    def lin(prefix, ct2):
        yield f"{prefix}.weight", v[f"{ct2}/weight"], False
        if f"{ct2}/bias" in v:
            yield f"{prefix}.bias", v[f"{ct2}/bias"], True

    def ln(prefix, ct2):
        yield f"{prefix}.weight", v[f"{ct2}/gamma"], True
        yield f"{prefix}.bias", v[f"{ct2}/beta"], True

    s = n_state

    def self_attention(p, c):
        # CT2 fuses query, key and value into one [3s, s] projection; the
        # key has no bias (its rows are zero), so it is left out.
        yield from ln(f"{p}.attn_ln", f"{c}/self_attention/layer_norm")
        qkv_w, qkv_b = v[f"{c}/self_attention/linear_0/weight"], v[f"{c}/self_attention/linear_0/bias"]
        yield f"{p}.attn.query.weight", qkv_w.rows(0, s), False
        yield f"{p}.attn.query.bias", qkv_b.rows(0, s), True
        yield f"{p}.attn.key.weight", qkv_w.rows(s, 2 * s), False
        yield f"{p}.attn.value.weight", qkv_w.rows(2 * s, 3 * s), False
        yield f"{p}.attn.value.bias", qkv_b.rows(2 * s, 3 * s), True
        yield from lin(f"{p}.attn.out", f"{c}/self_attention/linear_1")

    yield "encoder.positional_embedding", v["encoder/position_encodings/encodings"], True
    for i in (1, 2):
        yield f"encoder.conv{i}.weight", v[f"encoder/conv{i}/weight"], False
        yield f"encoder.conv{i}.bias", v[f"encoder/conv{i}/bias"], True
    for n in range(n_audio_layer):
        p, c = f"encoder.blocks.{n}", f"encoder/layer_{n}"
        yield from self_attention(p, c)
        yield from ln(f"{p}.mlp_ln", f"{c}/ffn/layer_norm")
        yield from lin(f"{p}.mlp.0", f"{c}/ffn/linear_0")
        yield from lin(f"{p}.mlp.2", f"{c}/ffn/linear_1")
    yield from ln("encoder.ln_post", "encoder/layer_norm")
    yield "decoder.positional_embedding", v["decoder/position_encodings/encodings"], True
    yield "decoder.token_embedding.weight", v["decoder/embeddings/weight"], False
    for n in range(n_text_layer):
        p, c = f"decoder.blocks.{n}", f"decoder/layer_{n}"
        yield from self_attention(p, c)
        yield from ln(f"{p}.cross_attn_ln", f"{c}/attention/layer_norm")
        yield from lin(f"{p}.cross_attn.query", f"{c}/attention/linear_0")
        kv_w, kv_b = v[f"{c}/attention/linear_1/weight"], v[f"{c}/attention/linear_1/bias"]
        yield f"{p}.cross_attn.key.weight", kv_w.rows(0, s), False
        yield f"{p}.cross_attn.value.weight", kv_w.rows(s, 2 * s), False
        yield f"{p}.cross_attn.value.bias", kv_b.rows(s, 2 * s), True
        yield from lin(f"{p}.cross_attn.out", f"{c}/attention/linear_2")
        yield from ln(f"{p}.mlp_ln", f"{c}/ffn/layer_norm")
        yield from lin(f"{p}.mlp.0", f"{c}/ffn/linear_0")
        yield from lin(f"{p}.mlp.2", f"{c}/ffn/linear_1")
    yield from ln("decoder.ln", "decoder/layer_norm")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    v = read_ct2(os.path.join(src, "model.bin"))
    with open(os.path.join(src, "vocabulary.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()

    n_state = v["encoder/conv1/weight"].shape[0]
    n_mels = v["encoder/conv1/weight"].shape[1]
    n_audio_ctx = v["encoder/position_encodings/encodings"].shape[0]
    n_text_ctx = v["decoder/position_encodings/encodings"].shape[0]
    n_vocab = v["decoder/embeddings/weight"].shape[0]
    n_audio_layer = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    n_text_layer = sum(1 for k in v if k.startswith("decoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    n_head = n_state // 64
    hparams = [n_vocab, n_audio_ctx, n_state, n_head, n_audio_layer, n_text_ctx, n_state, n_head, n_text_layer, n_mels, F16]

    decoder = gpt2_byte_decoder()
    tmp = out + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<i", 0x67676D6C))
        f.write(struct.pack("<11i", *hparams))
        m, nf, filt = mel_filters(n_mels=n_mels)
        f.write(struct.pack("<2i", m, nf))
        f.write(struct.pack(f"<{len(filt)}f", *filt))
        # whisper.cpp reads the 50,257 byte-level BPE tokens; special tokens are implied.
        base = vocab[:50257]
        f.write(struct.pack("<i", len(base)))
        for tok in base:
            raw = bytes(decoder[ch] for ch in tok)
            f.write(struct.pack("<i", len(raw)))
            f.write(raw)
        written = 0
        for name, var, as_f32 in tensor_plan(v, n_audio_layer, n_text_layer, n_state):
            shape = list(var.shape)
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                shape = [shape[0], 1]
            if as_f32 or len(shape) < 2:
                data, ftype = to_f32(var), F32
            else:
                if var.dtype != 4:
                    sys.exit(f"{var.name}: expected float16 weights, got dtype {var.dtype}")
                data, ftype = var.data, F16
            nb = name.encode()
            f.write(struct.pack("<3i", len(shape), len(nb), ftype))
            f.write(struct.pack(f"<{len(shape)}i", *reversed(shape)))
            f.write(nb)
            f.write(data)
            written += 1
    os.replace(tmp, out)
    print(f"wrote {out}: {written} tensors, hparams {hparams}")


if __name__ == "__main__":
    main()
