"""The feature screen: per-column ROC AUC against the outcomes a router must tell apart."""
import numpy as np

from eval.feature_separation import auc, markdown, separation


def _rows():
    rows = []
    for i in range(8):
        icl_right, lite_right = i % 4 == 0, i >= 4
        feats = {"informative": float(i), "noise": float(i % 2)}
        for s, ok in (("icl", icl_right), ("ttt-lite", lite_right)):
            rows.append({"task_hash": f"t{i}", "strategy": s, "correct": ok, "wall_s": 1.0, "model_id": "m",
                         "features": feats})
    return rows


def test_a_column_that_orders_the_winners_scores_one_and_noise_a_half():
    res = separation(_rows())
    assert res["n"] == 8 and res["rates"]["ttt-lite right"] == 0.5
    assert res["columns"]["informative"]["ttt-lite right"] == 1.0
    assert res["columns"]["noise"]["ttt-lite right"] == 0.5
    assert "| informative | " in markdown(res)


def test_one_class_or_missing_values_give_no_auc_rather_than_a_crash():
    assert auc(np.array([1.0, 1.0]), np.array([0.1, 0.2])) is None
    assert auc(np.array([0.0, 1.0, 1.0]), np.array([0.1, np.nan, 0.9])) == 1.0
