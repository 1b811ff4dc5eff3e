"""Write the files the README's ``epur run`` examples use, in the current folder.

* ``lstm.pt``: the state_dict of a 2-layer ``nn.LSTM(40, 128)`` with an ``nn.Linear``
  head of 10 outputs (a small acoustic model: 40 filter-bank features per 10 ms frame);
* ``model.onnx``: the same LSTM exported with ``torch.onnx.export`` for 200 steps,
  inputs ``X``, outputs ``Y``, ``Y_h``, ``Y_c``;
* ``x.npy``: an input sequence ``[200, 40]``; ``x.npz``: the same as ONNX's ``X``
  ``[200, 1, 40]``;
* ``seq2seq.npz``: inputs for ``examples/seq2seq.toml``, keyed by what they feed: the
  stacks ``encoder`` ``[40, 1, 256]`` and ``decoder`` ``[40, 1, 512]``, and the decoder's
  second layer's external features (its attention context) ``L4.external_in``
  ``[40, 1, 256]``.

Weights are PyTorch's random initialisation (seed 0): no trained model is needed to
try the datapath. Run: ``python examples/make_models.py`` (needs PyTorch).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

STEPS, FEATURES, HIDDEN, CLASSES = 200, 40, 128, 10


class AcousticModel(torch.nn.Module):
    """An LSTM stack and a per-frame classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(FEATURES, HIDDEN, num_layers=2)
        self.head = torch.nn.Linear(HIDDEN, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.head(y)


def main() -> None:
    torch.manual_seed(0)
    model = AcousticModel().eval()
    torch.save(model.state_dict(), "lstm.pt")
    x = np.random.default_rng(1).standard_normal((STEPS, FEATURES)).astype(np.float32)
    np.save("x.npy", x)
    np.savez("x.npz", X=x[:, None, :])
    rng = np.random.default_rng(2)
    np.savez(
        "seq2seq.npz",
        encoder=rng.standard_normal((40, 1, 256)),
        decoder=rng.standard_normal((40, 1, 512)),
        **{"L4.external_in": rng.standard_normal((40, 1, 256))},
    )
    with warnings.catch_warnings():  # the TorchScript exporter announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.lstm,
            (torch.from_numpy(x[:, None, :]),),
            "model.onnx",
            input_names=["X"],
            output_names=["Y", "Y_h", "Y_c"],
            dynamo=False,
        )
    print("wrote lstm.pt, model.onnx, x.npy, x.npz, seq2seq.npz")


if __name__ == "__main__":
    main()
