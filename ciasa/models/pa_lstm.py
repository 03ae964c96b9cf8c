"""PA-LSTM: the part-aware LSTM of the NTU RGB+D paper (Shahroudy, Liu, Ng, Wang, CVPR 2016).

A recurrent transfer target for CIASA perturbations made against ST-GCN. The body is
split into five parts (torso, two arms, two legs). Inside a P-LSTM cell every part p
keeps its own memory cell ``c^p`` with its own input gate, forget gate and candidate,
computed from that part's input and the whole previous hidden state; one output gate,
shared by all parts, sees every part's input::

    [i^p, f^p, g^p] = [sigm, sigm, tanh](W^p [x_t^p; h_{t-1}])
    c_t^p = f^p * c_{t-1}^p + i^p * g^p
    o_t   = sigm(W_o [x_t^1; ...; x_t^P; h_{t-1}])
    h_t   = o_t * tanh([c_t^1; ...; c_t^P])

Two such layers are stacked (the second layer's part p reads the first layer's part-p
slice of ``h``); the last hidden state feeds a linear classifier.

Preprocessing as in the paper: each sequence is moved into a body coordinate system
(origin at the middle of the spine, x along right->left shoulder, y along spine base
->spine, scaled by the spine base-spine distance), computed from the first valid frame
of the main body; and the network sees T1 = 8 frames, one per equal temporal segment
(random within the segment while training, the segment's middle at evaluation).
The hidden size is given per part; the default of 50 cells per part is our reading of
the paper, see docs/transfer.md. The forward is batched over samples and loops over
time only; it is differentiable with respect to the input skeleton.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ciasa.skeleton import NTU_RGBD, OPENPOSE_18, SkeletonLayout, get_layout

PART_NAMES = ("torso", "left_arm", "right_arm", "left_leg", "right_leg")

_PART_JOINTS: dict[str, dict[str, tuple[str, ...]]] = {
    NTU_RGBD.name: {
        "torso": ("spine_base", "spine_mid", "spine_shoulder", "neck", "head"),
        "left_arm": ("left_shoulder", "left_elbow", "left_wrist", "left_hand", "left_hand_tip", "left_thumb"),
        "right_arm": ("right_shoulder", "right_elbow", "right_wrist", "right_hand", "right_hand_tip", "right_thumb"),
        "left_leg": ("left_hip", "left_knee", "left_ankle", "left_foot"),
        "right_leg": ("right_hip", "right_knee", "right_ankle", "right_foot"),
    },
    OPENPOSE_18.name: {
        "torso": ("nose", "neck", "right_eye", "left_eye", "right_ear", "left_ear"),
        "left_arm": ("left_shoulder", "left_elbow", "left_wrist"),
        "right_arm": ("right_shoulder", "right_elbow", "right_wrist"),
        "left_leg": ("left_hip", "left_knee", "left_ankle"),
        "right_leg": ("right_hip", "right_knee", "right_ankle"),
    },
}


def body_parts(layout: str | SkeletonLayout) -> dict[str, tuple[int, ...]]:
    """Joint indices of the five parts; together they cover every joint exactly once."""
    layout = get_layout(layout)
    if layout.name not in _PART_JOINTS:
        raise KeyError(f"no PA-LSTM body parts defined for layout {layout.name!r}")
    parts = {p: tuple(layout.index(j) for j in names) for p, names in _PART_JOINTS[layout.name].items()}
    covered = sorted(j for joints in parts.values() for j in joints)
    if covered != list(range(layout.num_joints)):
        raise AssertionError(f"PA-LSTM parts of {layout.name} do not partition its joints")
    return parts


def valid_frames(x: torch.Tensor) -> torch.Tensor:
    """(N, T) bool for ``(N, C, T, V, M)`` input: frames where any body has a non-zero joint."""
    return (x.detach() != 0).any(dim=1).flatten(2).any(dim=-1)


def body_frame_normalize(x: torch.Tensor, layout: SkeletonLayout = NTU_RGBD, eps: float = 1e-6) -> torch.Tensor:
    """Move ``(N, 3, T, V, M)`` NTU skeletons into the main actor's body coordinate system.

    Origin: spine mid; x axis: right -> left shoulder; y axis: spine base -> spine mid
    (orthogonalised); z = x cross y; unit length: the spine base - spine mid distance.
    All taken from body 0 at its first non-zero frame and applied to every frame and
    body, so motion within the sequence is kept. Zero (padded / absent) entries stay zero.
    """
    N, C, T, V, M = x.shape
    if C != 3:
        raise ValueError(f"body-frame normalisation needs 3-D joints, got C={C}")
    present = (x.detach() != 0).any(dim=1).any(dim=2, keepdim=True)  # (N, T, 1, M)
    main = present[:, :, 0, 0]  # (N, T)
    first = torch.where(main.any(dim=1), main.float().argmax(dim=1), torch.zeros_like(main[:, 0], dtype=torch.long))
    ref = x[torch.arange(N, device=x.device), :, first, :, 0]  # (N, 3, V)
    j = layout.index
    origin = ref[:, :, j("spine_mid")]
    ax = ref[:, :, j("left_shoulder")] - ref[:, :, j("right_shoulder")]
    spine = ref[:, :, j("spine_mid")] - ref[:, :, j("spine_base")]
    ax = ax / (ax.norm(dim=1, keepdim=True) + eps)
    ay = spine - (spine * ax).sum(dim=1, keepdim=True) * ax
    ay = ay / (ay.norm(dim=1, keepdim=True) + eps)
    az = torch.cross(ax, ay, dim=1)
    R = torch.stack([ax, ay, az], dim=1)  # (N, 3 axes, 3 coords)
    scale = spine.norm(dim=1) + eps  # (N,)
    centred = x - origin[:, :, None, None, None]
    out = torch.einsum("nac,nctvm->natvm", R, centred) / scale[:, None, None, None, None]
    return out * present[:, None].to(out.dtype)


class PartAwareLSTMLayer(nn.Module):
    """One P-LSTM layer over P parts with ``hidden_size`` cells per part.

    ``part_x[p]`` maps part p's input to its own (i, f, g) pre-activations;
    ``recurrent`` maps the whole previous ``h`` (P * hidden) to every part's (i, f, g);
    ``out_x`` / ``out_h`` form the single shared output gate from all inputs and ``h``.
    """

    def __init__(self, part_sizes: tuple[int, ...], hidden_size: int) -> None:
        super().__init__()
        self.part_sizes = tuple(part_sizes)
        self.num_parts = len(part_sizes)
        self.hidden_size = hidden_size
        P, H = self.num_parts, hidden_size
        self.part_x = nn.ModuleList([nn.Linear(d, 3 * H) for d in part_sizes])
        self.recurrent = nn.Linear(P * H, P * 3 * H, bias=False)
        self.out_x = nn.Linear(sum(part_sizes), P * H)
        self.out_h = nn.Linear(P * H, P * H, bias=False)
        with torch.no_grad():  # forget-gate bias 1: remember by default
            for lin in self.part_x:
                lin.bias[H : 2 * H].fill_(1.0)

    def step(
        self, xp: list[torch.Tensor], xo: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One time step. ``xp[p]`` (N, d_p), ``xo`` (N, sum d_p), ``h`` and ``c`` (N, P*H).

        Returns the new ``h``, ``c`` and the gates (``i``, ``f``, ``g`` as (N, P, H),
        ``o`` as (N, P*H)) so tests can check the cell structure.
        """
        x_gates = torch.stack([lin(x) for lin, x in zip(self.part_x, xp)], dim=1)
        return self._update(x_gates, self.out_x(xo), h, c)

    def _update(
        self, x_gates: torch.Tensor, x_out: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The cell update from the input terms ``x_gates`` (N, P, 3H) and ``x_out`` (N, P*H)."""
        N, P, H = h.shape[0], self.num_parts, self.hidden_size
        pre = x_gates + self.recurrent(h).view(N, P, 3 * H)
        i = torch.sigmoid(pre[..., :H])
        f = torch.sigmoid(pre[..., H : 2 * H])
        g = torch.tanh(pre[..., 2 * H :])
        c_new = (f * c.view(N, P, H) + i * g).reshape(N, P * H)  # one cell per part
        o = torch.sigmoid(x_out + self.out_h(h))  # one output gate shared by all parts
        return o * torch.tanh(c_new), c_new, {"i": i, "f": f, "g": g, "o": o}

    def forward(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """``parts[p]`` (N, T, d_p) -> hidden states (N, T, P*H)."""
        N, T = parts[0].shape[:2]
        # input projections for all frames at once; only the recurrence loops over T
        x_gates = torch.stack([lin(x) for lin, x in zip(self.part_x, parts)], dim=2)  # (N, T, P, 3H)
        x_out = self.out_x(torch.cat(parts, dim=-1))  # (N, T, P*H)
        h = parts[0].new_zeros(N, self.num_parts * self.hidden_size)
        c = torch.zeros_like(h)
        hs = []
        for t in range(T):
            h, c, _ = self._update(x_gates[:, t], x_out[:, t], h, c)
            hs.append(h)
        return torch.stack(hs, dim=1)


class PALSTM(nn.Module):
    """Part-aware LSTM classifier (PA-LSTM / P-LSTM) on ``(N, C, T, V, M)`` skeletons.

    Args:
        in_channels: coordinate channels C (3 for NTU).
        num_class: number of action classes.
        graph_args: ``{'layout': 'ntu-rgb+d' | 'openpose'}`` (named like ST-GCN's so one
            config format serves every model).
        num_person: bodies M; part p's input concatenates its joints of all bodies.
            Input with fewer bodies is padded with zero bodies.
        hidden_size: memory cells per part (default 50, see module docstring).
        num_layers: stacked P-LSTM layers (paper: 2).
        segments: frames the network sees, one per equal temporal segment of the valid
            frames (paper: 8); ``None`` feeds every frame.
        normalize: 'body' (paper's body coordinate system, 3-D NTU only) or 'none'.
        dropout: dropout on the last hidden state before the classifier.

    Example::

        model = PALSTM(3, 60, {'layout': 'ntu-rgb+d'}, num_person=2)
        logits = model(torch.randn(2, 3, 64, 25, 2))
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_class: int = 60,
        graph_args: dict[str, Any] | None = None,
        num_person: int = 2,
        hidden_size: int = 50,
        num_layers: int = 2,
        segments: int | None = 8,
        normalize: str | None = None,
        dropout: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"PALSTM got unknown arguments: {', '.join(sorted(kwargs))}")
        graph_args = dict(graph_args or {})
        graph_args.pop("strategy", None)  # accepted for config symmetry with the GCNs
        self.layout = get_layout(graph_args.pop("layout", NTU_RGBD.name))
        if graph_args:
            raise TypeError(f"unknown graph_args for PA-LSTM: {', '.join(sorted(graph_args))}")
        if normalize is None:
            normalize = "body" if (self.layout.name == NTU_RGBD.name and in_channels == 3) else "none"
        if normalize not in ("body", "none"):
            raise ValueError(f"normalize must be 'body' or 'none', got {normalize!r}")
        if normalize == "body" and (self.layout.name != NTU_RGBD.name or in_channels != 3):
            raise ValueError("body-frame normalisation is defined for 3-D NTU skeletons only")
        if segments is not None and segments < 1:
            raise ValueError(f"segments must be >= 1 or None, got {segments}")
        self.in_channels = in_channels
        self.num_class = num_class
        self.num_person = num_person
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.segments = segments
        self.normalize = normalize
        self.parts = body_parts(self.layout)
        for p, joints in self.parts.items():
            self.register_buffer(f"joints_{p}", torch.tensor(joints), persistent=False)
        sizes = tuple(len(j) * in_channels * num_person for j in self.parts.values())
        layers = [PartAwareLSTMLayer(sizes, hidden_size)]
        layers += [PartAwareLSTMLayer((hidden_size,) * len(sizes), hidden_size) for _ in range(num_layers - 1)]
        self.layers = nn.ModuleList(layers)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(len(sizes) * hidden_size, num_class)

    def sample_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Pick one frame per temporal segment of each sample's valid frames: (N, C, S, V, M)."""
        if self.segments is None:
            return x
        N, T = x.shape[0], x.shape[2]
        valid = valid_frames(x)
        # length up to the last non-zero frame (padding sits at the end); empty clips use T
        last = T - valid.flip(1).float().argmax(dim=1)
        last = torch.where(valid.any(dim=1), last, torch.full_like(last, T))
        S = self.segments
        bounds = last[:, None].float() * torch.arange(S + 1, device=x.device)[None].float() / S  # (N, S+1)
        start, width = bounds[:, :-1], (bounds[:, 1:] - bounds[:, :-1])
        if self.training:
            offset = torch.rand(N, S, device=x.device) * width
        else:
            offset = 0.5 * width
        idx = (start + offset).floor().long().clamp(min=0, max=T - 1)
        idx = torch.minimum(idx, (last - 1).clamp(min=0)[:, None])
        gather = idx[:, None, :, None, None].expand(-1, x.shape[1], -1, x.shape[3], x.shape[4])
        return x.gather(2, gather)

    def split_parts(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, C, T, V, M) -> per part (N, T, |part| * C * M)."""
        N, C, T, V, M = x.shape
        out = []
        for p in self.parts:
            j = getattr(self, f"joints_{p}")
            xp = x.index_select(3, j).permute(0, 2, 3, 1, 4)  # (N, T, J, C, M)
            out.append(xp.reshape(N, T, -1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"PALSTM expects (N, C, T, V, M) input, got shape {tuple(x.shape)}")
        N, C, T, V, M = x.shape
        if C != self.in_channels or V != self.layout.num_joints or M > self.num_person:
            raise ValueError(
                f"PALSTM ({self.layout.name}) expects C={self.in_channels}, V={self.layout.num_joints}, "
                f"M<={self.num_person}; got (N, C, T, V, M) = {tuple(x.shape)}"
            )
        if M < self.num_person:
            x = torch.nn.functional.pad(x, (0, self.num_person - M))
        if self.normalize == "body":
            x = body_frame_normalize(x, self.layout)
        x = self.sample_frames(x)
        parts = self.split_parts(x)
        P, H = len(parts), self.hidden_size
        for layer in self.layers:
            hs = layer(parts)  # (N, S, P*H)
            parts = [hs[..., p * H : (p + 1) * H] for p in range(P)]
        return self.fc(self.drop(hs[:, -1]))

    def extra_repr(self) -> str:
        return (
            f"layout={self.layout.name!r}, in_channels={self.in_channels}, num_class={self.num_class}, "
            f"num_person={self.num_person}, hidden_size={self.hidden_size} per part, layers={self.num_layers}, "
            f"segments={self.segments}, normalize={self.normalize!r}"
        )


# ``python -m ciasa.train`` passes ST-GCN-style arguments to every architecture; these two
# have no PA-LSTM meaning (its width is ``hidden_size``, the paper's cells per part).
_STGCN_ONLY = ("edge_importance_weighting", "base_channels")


def build_pa_lstm(**model_args: Any) -> PALSTM:
    """Registry entry 'pa_lstm'; ignores the ST-GCN-only arguments the training CLI passes."""
    return PALSTM(**{k: v for k, v in model_args.items() if k not in _STGCN_ONLY})


def _register() -> None:
    from ciasa.models.registry import register_model

    register_model("pa_lstm", build_pa_lstm)


_register()
