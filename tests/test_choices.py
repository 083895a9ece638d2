"""Answers constrained to a query's options: which queries have options, the likeliest is taken, and the
shared-prompt likelihoods equal full per-choice scoring."""
import math

import pytest

from strategies.choices import answer, candidates
from strategies.cost import Cost
from strategies.icl import ICL, ICLConfig
from strategies.serialize import parse_answer, render_answer
from strategies.task import task_from_obj
from strategies.zero_shot import ZeroShot

MC = "Pick one.\nOptions:\n(A) red\n(B) blue\n(C) green"


def text_task(outputs, query="q"):
    return task_from_obj({"train": [{"input": f"x{i}", "output": o} for i, o in enumerate(outputs)],
                          "test": [{"input": query, "output": outputs[0]}]})


def test_listed_options_win_then_closed_label_sets():
    assert candidates(text_task(["(A)", "(B)"], MC), MC) == ["(A)", "(B)", "(C)"]
    assert candidates(text_task(["True", "False", "True"]), "q") == ["True", "False"]
    assert candidates(text_task(["3", "5"]), "q") == []                  # numbers are open-ended
    assert candidates(text_task(["a", "b", "c", "d", "e"]), "q") == []   # too many labels to be a closed set
    assert candidates(text_task(["yes", "yes"]), "q") == []              # one label seen: nothing to choose


class Fake:
    """Scores each choice by a table; generates a fixed text; records what it was asked."""
    def __init__(self, scores):
        self.scores, self.prompts, self.choice_prompts = scores, [], []

    def generate(self, prompts, kind, caps, **kw):
        from types import SimpleNamespace
        self.prompts += list(prompts)
        return SimpleNamespace(texts=[" free\n\n"] * len(prompts), first_token_entropy=[0.5] * len(prompts),
                               cost=Cost(wall_s=1.0), cached_tokens=0)

    def choice_logprobs(self, prompt, choices):
        self.choice_prompts.append(prompt)
        return [self.scores[parse_answer(c, "text")] for c in choices], Cost(wall_s=0.25)


def test_answer_takes_the_likeliest_option_and_generates_the_rest():
    rt = Fake({"(A)": -3.0, "(B)": -0.5, "(C)": -2.0})
    out = answer(rt, ["p1", "p2"], "text", [8, 8], [["(A)", "(B)", "(C)"], []])
    assert [parse_answer(t, "text") for t in out.texts] == ["(B)", "free"]
    assert rt.prompts == ["p2"] and rt.choice_prompts == ["p1"] and out.constrained == 1
    assert out.cost.wall_s == pytest.approx(1.25) and 0 < out.first_token_entropy[0] < math.log(3)


def test_icl_options_and_zero_shot_prompts():
    task = text_task(["(A)", "(C)"], MC)
    rt = Fake({"(A)": -3.0, "(B)": -0.1, "(C)": -2.0})
    rt.encode = lambda text: text.split()
    res = ICL(ICLConfig(choices="options")).run(task, rt)
    assert res.attempts == [["(B)"]] and "x0" in rt.choice_prompts[0]
    res = ZeroShot().run(task, rt)
    assert res.strategy == "zero-shot" and res.attempts == [["free"]]
    assert rt.prompts[-1] == f"in: {MC.replace(chr(10), chr(92) + 'n')}\nout:"   # the query alone


def test_shared_prompt_likelihoods_equal_full_scoring(tiny_rt):
    prompt = "in: the cat\nout:"
    choices = [render_answer(c, "text") for c in ("(A)", "(B) long answer", "True")]
    shared, _ = tiny_rt.choice_logprobs(prompt, choices)
    full, _ = tiny_rt.score([prompt] * len(choices), choices)
    assert shared == pytest.approx(full, abs=1e-3)
