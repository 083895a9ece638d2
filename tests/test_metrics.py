"""Routing metrics on tiny hand-made tables whose answers are worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from policies.baselines import Always, Oracle
from policies.metrics import Point, apgr, auc, cpt, curve, evaluate, summary
from policies.table import Table

# icl is right on q0 only; ttt on q0..q2; nobody on q3. icl takes 1 s, ttt 10 s.
T = Table.from_arrays(correct=[[1, 1], [0, 1], [0, 1], [0, 0]], seconds=[[1, 10]] * 4, strategies=["icl", "ttt"])
WEAK, STRONG = 0.25, 0.75


def pts(*xy):
    return [Point(accuracy=y, seconds=0.0, share=x) for x, y in xy]


def test_evaluate_gives_accuracy_mean_seconds_and_expensive_share():
    p = evaluate(["icl", "ttt", "ttt", "icl"], T)
    assert (p.accuracy, p.seconds, p.share) == (0.75, 5.5, 0.5)


def test_evaluate_refuses_a_decision_whose_outcome_is_unknown():
    t = Table.from_arrays([[1, np.nan]], [[1, 10]], ["icl", "ttt"])
    with pytest.raises(ValueError, match="routed to 'ttt', whose outcome or seconds are unknown"):
        evaluate(["ttt"], t)


def test_the_oracle_curve_over_shares():
    points = curve(Oracle.of(T), T, shares=[0, 0.25, 0.5, 0.75, 1])
    assert [(p.share, p.accuracy) for p in points] == [(0, .25), (.25, .5), (.5, .75), (.5, .75), (.5, .75)]
    assert [p.seconds for p in points[:3]] == [1.0, 3.25, 5.5]


def test_a_curve_can_be_swept_over_mean_seconds():
    points = curve(Oracle.of(T), T, seconds=[1.0, 3.25, 5.5])
    assert [(p.budget, p.accuracy) for p in points] == [(1.0, .25), (3.25, .5), (5.5, .75)]


def test_auc_is_linear_between_points_and_flat_after_the_last():
    assert auc(pts((0, .25), (.25, .5), (.5, .75)), WEAK) == pytest.approx(0.09375 + 0.15625 + 0.375)


def test_apgr_of_the_oracle_by_hand():
    assert apgr(curve(Oracle.of(T), T), WEAK, STRONG) == pytest.approx(0.75)


def test_apgr_is_zero_for_always_weak_and_half_for_the_diagonal():
    assert apgr(pts((0, WEAK), (1, WEAK)), WEAK, STRONG) == 0.0
    assert apgr(pts((0, WEAK), (1, STRONG)), WEAK, STRONG) == pytest.approx(0.5)
    assert apgr(curve(Always("ttt"), T), WEAK, STRONG) == pytest.approx(0.5)   # one point at share 1


def test_apgr_is_undefined_without_a_gap():
    with pytest.raises(ValueError, match="undefined"):
        apgr(pts((0, .5)), .5, .5)


def test_cpt_interpolates_the_share_needed_to_recover_a_gap_fraction():
    points = curve(Oracle.of(T), T)
    assert cpt(points, WEAK, STRONG, 0.5) == pytest.approx(0.25)
    assert cpt(points, WEAK, STRONG, 0.8) == pytest.approx(0.4)


def test_cpt_is_nan_when_the_gap_is_never_recovered():
    assert math.isnan(cpt(pts((0, WEAK), (1, 0.3)), WEAK, STRONG, 0.5))


def test_summary_compares_against_always_cheap_and_the_best_other_strategy():
    s = summary(Oracle.of(T), T, shares=[0, 0.25, 0.5, 0.75, 1])
    assert (s["weak"], s["strong"], s["weak_acc"], s["strong_acc"]) == ("icl", "ttt", WEAK, STRONG)
    assert (s["apgr"], s["cpt50"], s["cpt80"]) == pytest.approx((0.75, 0.25, 0.4))
