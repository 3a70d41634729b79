"""The one percentile, shared by mic-test and the benchmarks: p from 0 to 100, nearest rank."""
import math

from voicecoach.stats import percentile


def test_percentile_takes_p_from_0_to_100():
    values = list(range(101))  # 0..100: the p-th percentile is p itself
    assert [percentile(values, p) for p in (0, 10, 50, 90, 95, 100)] == [0, 10, 50, 90, 95, 100]
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input


def test_percentile_of_nothing_is_nan():
    assert math.isnan(percentile([], 95))
