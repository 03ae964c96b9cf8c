"""The residual connection of the ST-GCN-family blocks (ST-GCN, 2s-AGCN, Shift-GCN).

Their public implementations decide the shortcut the same way: none in the first block,
the identity when the block keeps its width and frame rate, else a strided 1x1
projection; the block's output is ``relu(body(x) + shortcut(x))``. Only the projection's
module layout differs (``residual.{0,1}`` in ST-GCN's checkpoints, ``residual.{conv,bn}``
in 2s-AGCN's and Shift-GCN's), so each block passes its own; the projection is stored as
``self.residual`` and this class adds no parameter of its own, so state-dict keys are
those of the public code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """Base of a block ``relu(body(x) + shortcut(x))``; subclasses call :meth:`init_residual`
    in ``__init__`` and return ``self.add_residual(body(x), x)`` from ``forward``."""

    residual_kind: str  # 'none', 'identity' or 'conv'

    def init_residual(
        self, in_channels: int, out_channels: int, stride: int, residual: bool, projection: Callable[[], nn.Module]
    ) -> None:
        if not residual:
            self.residual_kind = "none"
        elif in_channels == out_channels and stride == 1:
            self.residual_kind = "identity"
        else:
            self.residual_kind = "conv"
            self.residual = projection()

    def add_residual(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual_kind == "conv":
            y = y + self.residual(x)
        return F.relu(y)
