"""ST-GCN (Yan, Xiong, Lin, AAAI 2018), numerically faithful to the official code.

Module names match the official checkpoint keys (``A``, ``data_bn.*``,
``st_gcn_networks.{0..9}.gcn.conv.*``, ``.tcn.{0,2,3}.*``, ``.residual.{0,1}.*``,
``edge_importance.{0..9}``, ``fcn.*``), so the released ``st_gcn.ntu-xsub.pt`` /
``st_gcn.ntu-xview.pt`` / ``st_gcn.kinetics.pt`` load with ``strict=True``.
Zero-padded frames and absent bodies are *not* masked: the official model never
masked them and its weights only reproduce when they are fed the same way.

The forward is differentiable w.r.t. its input and batched (no per-sample Python
loops), because the attacks back-propagate to the skeleton. ReLU and Dropout are
not in-place (the official code uses in-place ops; the numbers are identical and
autograd on the input is safer this way).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ciasa.models.graph import Graph
from ciasa.models.residual import ResidualBlock

TEMPORAL_KERNEL = 9
# Block widths as multiples of base_channels and their temporal strides (official: base 64).
BLOCK_WIDTHS = (1, 1, 1, 1, 2, 2, 2, 4, 4, 4)
BLOCK_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


class ConvTemporalGraphical(nn.Module):
    """Graph convolution: 1x1 conv to ``out * K`` channels, then sum over the K partitions.

    ``x`` (N, C_in, T, V) and ``A`` (K, V, V) -> (N, C_out, T, V) with
    ``y[n, c, t, w] = sum_k sum_v conv(x)[n, k, c, t, v] * A[k, v, w]``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels * kernel_size, kernel_size=(1, 1))

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        n, kc, t, v = x.shape
        x = x.view(n, self.kernel_size, kc // self.kernel_size, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, A).contiguous()


class STGCNBlock(ResidualBlock):
    """Spatial graph conv -> BN-ReLU-temporal conv (9x1)-BN-Dropout, plus residual, ReLU.

    ``residual`` is 'none' (first block), 'identity' (same width, stride 1) or a
    1x1 strided conv + BN (``residual.0``, ``residual.1`` in the checkpoint).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        pad = (TEMPORAL_KERNEL - 1) // 2
        self.gcn = ConvTemporalGraphical(in_channels, out_channels, kernel_size)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, (TEMPORAL_KERNEL, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        self.init_residual(
            in_channels,
            out_channels,
            stride,
            residual,
            lambda: nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            ),
        )

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        return self.add_residual(self.tcn(self.gcn(x, A)), x)


class STGCN(nn.Module):
    """Spatial-temporal graph convolutional network for skeleton action recognition.

    Args:
        in_channels: coordinate channels C (3 for NTU x, y, z; 3 for OpenPose x, y, score).
        num_class: number of action classes.
        graph_args: ``{'layout': 'ntu-rgb+d' | 'openpose', 'strategy': 'uniform' |
            'distance' | 'spatial'}`` (plus optional ``max_hop``, ``dilation``).
        edge_importance_weighting: learn a ones-initialised (K, V, V) mask per block.
        base_channels: width of the first blocks (official 64); the blocks use
            ``base * (1,1,1,1,2,2,2,4,4,4)`` channels.
        dropout: dropout after each temporal conv, blocks 2-10 (official: 0.5 on NTU).

    Input ``(N, C, T, V, M)``, output logits ``(N, num_class)``. T may be any length
    (the network is convolutional in time); bodies are averaged after pooling.

    Example::

        model = STGCN(3, 60, {'layout': 'ntu-rgb+d', 'strategy': 'spatial'})
        logits = model(torch.zeros(2, 3, 300, 25, 2))
    """

    def __init__(
        self,
        in_channels: int,
        num_class: int,
        graph_args: dict[str, Any] | None = None,
        edge_importance_weighting: bool = True,
        base_channels: int = 64,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"STGCN got unknown arguments: {', '.join(sorted(kwargs))}")
        graph_args = dict(graph_args or {"layout": "ntu-rgb+d", "strategy": "spatial"})
        self.graph = Graph(**graph_args)
        self.layout = self.graph.layout
        self.in_channels = in_channels
        self.num_class = num_class
        self.base_channels = base_channels
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        self.register_buffer("A", A)
        K, V = A.shape[0], A.shape[1]
        self.data_bn = nn.BatchNorm1d(in_channels * V)
        widths = [base_channels * w for w in BLOCK_WIDTHS]
        blocks = []
        c_in = in_channels
        for i, (c_out, stride) in enumerate(zip(widths, BLOCK_STRIDES)):
            # the official first block has neither residual nor dropout
            blocks.append(STGCNBlock(c_in, c_out, K, stride, dropout if i else 0.0, residual=i > 0))
            c_in = c_out
        self.st_gcn_networks = nn.ModuleList(blocks)
        if edge_importance_weighting:
            self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones(K, V, V)) for _ in blocks])
        else:
            self.edge_importance = None
        self.feature_dim = widths[-1]
        self.fcn = nn.Conv2d(self.feature_dim, num_class, kernel_size=1)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        """Input -> last block's feature map ``(N*M, C', T', V)``."""
        if x.dim() != 5:
            raise ValueError(f"STGCN expects (N, C, T, V, M) input, got shape {tuple(x.shape)}")
        N, C, T, V, M = x.shape
        if C != self.in_channels or V != self.A.shape[1]:
            raise ValueError(
                f"STGCN ({self.layout.name}, {self.in_channels} channels) expects C={self.in_channels}, "
                f"V={self.A.shape[1]}; got (N, C, T, V, M) = {tuple(x.shape)}"
            )
        # input BN over V*C per body: (N, M, V, C, T) -> (N*M, V*C, T)
        x = x.permute(0, 4, 3, 1, 2).contiguous().view(N * M, V * C, T)
        x = self.data_bn(x)
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).contiguous().view(N * M, C, T, V)
        for i, block in enumerate(self.st_gcn_networks):
            A = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = block(x, A)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding ``(N, 4 * base_channels)``: what the classifier head sees."""
        N, M = x.shape[0], x.shape[-1]
        h = self._embed(x)
        return h.mean(dim=(2, 3)).view(N, M, h.shape[1]).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return self.fcn(f[:, :, None, None]).flatten(1)

    def extra_repr(self) -> str:
        return (
            f"layout={self.layout.name!r}, strategy={self.graph.strategy!r}, in_channels={self.in_channels}, "
            f"num_class={self.num_class}, base_channels={self.base_channels}"
        )
