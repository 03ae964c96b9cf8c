"""ST-GCN's skeleton graph and its partitioning strategies, computed as the official code does.

The official weights were trained against these exact matrices (and store them in the
checkpoint as the ``A`` buffer), so the numerics follow yysijie/st-gcn's
``net/utils/graph.py`` to the last quirk:

* hop distances are computed only up to ``max_hop``; any pair further apart is at
  distance ``inf``;
* the adjacency ``1[d <= max_hop]`` (self loops included) is normalised as ``A D^-1``,
  i.e. every column is divided by its sum;
* spatial strategy: entry ``[j, i]`` (row = source j, column = destination i) with
  ``d(j, i) == hop`` is "root" when ``d(j, c) == d(i, c)``, "close" when
  ``d(j, c) > d(i, c)``, else "further", c the graph centre. With ``max_hop = 1``
  most joints are ``inf`` hops from the centre and ``inf == inf``, so for them the
  neighbour falls into "root" — that is what the released models learnt with.

Joint indices and edges come from :mod:`ciasa.skeleton`; nothing is re-typed here.
"""

from __future__ import annotations

import numpy as np

from ciasa.skeleton import SkeletonLayout, get_layout

STRATEGIES = ("uniform", "distance", "spatial")


def hop_distance(num_node: int, edges: list[tuple[int, int]], max_hop: int = 1) -> np.ndarray:
    """(V, V) hop distances on the undirected graph, ``inf`` beyond ``max_hop``."""
    adjacency = np.zeros((num_node, num_node))
    for i, j in edges:
        adjacency[i, j] = adjacency[j, i] = 1
    reach = np.stack([np.linalg.matrix_power(adjacency, d) for d in range(max_hop + 1)]) > 0
    hop = np.full((num_node, num_node), np.inf)
    for d in range(max_hop, -1, -1):  # nearest distance wins
        hop[reach[d]] = d
    return hop


def normalize_digraph(adjacency: np.ndarray) -> np.ndarray:
    """``A D^-1``: divide every column by its sum (columns summing to 0 stay 0)."""
    col_sum = adjacency.sum(axis=0)
    inv = np.where(col_sum > 0, 1.0 / np.where(col_sum > 0, col_sum, 1.0), 0.0)
    return adjacency * inv[None, :]


class Graph:
    """ST-GCN graph of a skeleton layout: ``self.A`` is the (K, V, V) partition stack.

    Args:
        layout: 'ntu-rgb+d' or 'openpose' (or a :class:`SkeletonLayout`).
        strategy: 'uniform' (K=1), 'distance' (K = one per hop) or 'spatial'
            (K = 1 + 2 * max_hop: root, root+close, further).
        max_hop, dilation: as in the official code (defaults 1, 1).
    """

    def __init__(
        self,
        layout: str | SkeletonLayout = "ntu-rgb+d",
        strategy: str = "spatial",
        max_hop: int = 1,
        dilation: int = 1,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown graph strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
        self.layout = get_layout(layout)
        self.strategy = strategy
        self.max_hop = max_hop
        self.dilation = dilation
        self.num_node = self.layout.num_joints
        self.center = self.layout.graph_center
        self.edges = [(i, i) for i in range(self.num_node)] + list(self.layout.graph_edges)
        self.hop_dis = hop_distance(self.num_node, self.edges, max_hop)
        self.A = self._partition().astype(np.float32)

    def _partition(self) -> np.ndarray:
        hops = range(0, self.max_hop + 1, self.dilation)
        adjacency = np.zeros((self.num_node, self.num_node))
        for hop in hops:
            adjacency[self.hop_dis == hop] = 1
        norm = normalize_digraph(adjacency)
        if self.strategy == "uniform":
            return norm[None]
        if self.strategy == "distance":
            return np.stack([np.where(self.hop_dis == hop, norm, 0.0) for hop in hops])
        # spatial: compare each endpoint's distance to the centre ([j, i]: source j, dest i)
        to_center = self.hop_dis[:, self.center]
        d_src = to_center[:, None]  # row j
        d_dst = to_center[None, :]  # column i
        # inf == inf counts as equal, as in the official element-wise comparison
        same = d_src == d_dst
        closer = ~same & (d_src > d_dst)
        further = ~same & ~closer
        stack = []
        for hop in hops:
            at_hop = self.hop_dis == hop
            root = np.where(at_hop & same, norm, 0.0)
            close = np.where(at_hop & closer, norm, 0.0)
            far = np.where(at_hop & further, norm, 0.0)
            if hop == 0:
                stack.append(root)
            else:
                stack.append(root + close)
                stack.append(far)
        return np.stack(stack)

    def __repr__(self) -> str:
        return f"Graph(layout={self.layout.name!r}, strategy={self.strategy!r}, K={self.A.shape[0]})"
