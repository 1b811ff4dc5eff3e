"""Evaluating a design: ``evaluate`` is the one place where the models are composed
(network -> schedule -> banking -> timing -> energy and area), on a ``Design`` or an
architecture."""

from epur.evaluation._evaluate import Accuracy, Evaluation, evaluate
from epur.evaluation.design import Design, SramSource

__all__ = ["Accuracy", "Design", "Evaluation", "SramSource", "evaluate"]
