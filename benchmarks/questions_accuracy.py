"""Typed question matching: topic accuracy, out-of-scope null rate, answer time, confusions."""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stats import add_record_option, percentile, record  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from voicecoach import knowledge  # noqa: E402

HERE = Path(__file__).resolve().parent / "questions"


# Every set whose questions have been seen; heldout8 is the sealed set the figures are reported on.
TUNING_SETS = ("dev", "dev2", "heldout", "dev3", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7")
REPORT_SET = "heldout8"
# Cross-validation folds over the tuning sets: pick the threshold on one, score the other.
FOLDS = (("dev", "dev2", "dev3", "heldout"), ("heldout3", "heldout4", "heldout5", "heldout6", "heldout7"))


def load_set(name: str) -> list[tuple[str, str | None]]:
    data = yaml.safe_load((HERE / f"{name}.yaml").read_text("utf-8"))
    cases = [(q, topic) for topic, questions in data["in_scope"].items() for q in questions]
    return cases + [(q, None) for q in data["out_of_scope"]]


def load_sets(names) -> list[tuple[str, str | None]]:
    return [case for name in names for case in load_set(name)]


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


@functools.lru_cache(maxsize=None)
def scored(question: str) -> dict[str | None, float]:
    """knowledge.scores, kept: a threshold sweep scores every question dozens of times."""
    return knowledge.scores(question)


def evaluate(cases, threshold: float) -> tuple[float, float, list[tuple[str, str | None, str | None, float]]]:
    in_scope = [c for c in cases if c[1] is not None]
    out_scope = [c for c in cases if c[1] is None]
    wrong = []
    right_in = right_out = 0
    for question, expected in cases:
        ranked = dict(scored(question))
        outside = ranked.pop(None)
        best = max(ranked, key=ranked.get)
        got = knowledge.decide(ranked, outside, threshold)
        if got == expected:
            right_in += expected is not None
            right_out += expected is None
        else:
            wrong.append((question, expected, got, ranked[best], best, outside))
    return right_in / len(in_scope), right_out / len(out_scope), wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", nargs="+", default=[REPORT_SET], metavar="NAME",
                        help=f"question sets in benchmarks/questions, pooled: {REPORT_SET} (report), or any of"
                             f" {' '.join(TUNING_SETS)} (tuning)")
    parser.add_argument("--runs", type=int, default=5, help="timed passes over all questions")
    add_record_option(parser)
    parser.add_argument("--sweep", action="store_true", help="print accuracy for a range of thresholds (tuning)")
    parser.add_argument("--cross", action="store_true",
                        help="threshold tuned on dev + dev2 and scored on heldout, then the other way round")
    args = parser.parse_args()
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
          f"p50 {statistics.median(times):.2f} ms, p95 {percentile(times, 95):.2f} ms, max {max(times):.2f} ms")
    if args.record:
        n_out = len(cases) - n_in
        record("questions_accuracy", {"in_scope_pct": 100 * acc, "in_scope_right": round(acc * n_in), "in_scope_total": n_in,
                                      "out_of_scope_pct": 100 * null_rate, "out_of_scope_right": round(null_rate * n_out),
                                      "out_of_scope_total": n_out, "answer_p95_ms": percentile(times, 95),
                                      "answer_p50_ms": statistics.median(times), "answers": len(times)}, args.runs)
    print(f"confusions ({len(wrong)}):")
    for question, expected, got, score, best, outside in wrong:
        print(f"  {question!r}: expected {expected}, got {got} (best topic {best} {score:.2f},"
              f" out of scope {outside:.2f})")
    return 0


if __name__ == "__main__":
    from isolation import isolated_env  # benchmarks/ is on sys.path when run as a script
    with isolated_env():
        sys.exit(main())
