"""Training augmentation on whole batches ``(N, C, T, V, M)``, vectorised in torch.

The classifier later sees skeletons re-extracted from rendered video: joints off by
~5 cm in x/y and ~10 cm in depth, the root placed a few percent too far or too near
along the viewing ray, slightly different timing. The transforms mirror that, in
Kinect camera space (metres, x to the sensor's left, y up, z away from the sensor):

* temporal crop + resample: a random 80-100 % window played back at 0.85-1.15x speed;
* body scale about the body's centre (people differ in size);
* yaw about the vertical axis through the body's centre (the subject turns);
* pitch about the sensor's horizontal x axis (the camera is tilted differently);
* shift along the viewing ray by a few percent of the distance (root depth error);
* Gaussian joint noise, anisotropic (more in depth), partly i.i.d. per frame and
  partly a constant per-joint offset over the clip (re-extraction errors are biased).

Zero frames and absent bodies stay exactly zero: the official ST-GCN feeds them
unmasked, so an augmented "padding" frame would be a distribution shift. The
geometric transforms apply to 3-D layouts only; 2-D OpenPose data gets the temporal
transform alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

# Re-extraction error scale measured on MediaPipe (see FINDINGS): ~5 cm x/y, ~10 cm z.
REEXTRACTION_SIGMA = (0.05, 0.05, 0.10)


def valid_mask(x: torch.Tensor) -> torch.Tensor:
    """``(N, 1, T, 1, M)`` True where a body is present in a frame (any joint non-zero)."""
    return (x != 0).any(dim=1, keepdim=True).any(dim=3, keepdim=True)


def body_center(x: torch.Tensor, mask: torch.Tensor, joint: int = 0) -> torch.Tensor:
    """``(N, C, 1, 1, 1)``: mean position of ``joint`` over the present frames and bodies."""
    m = mask[:, :, :, 0, :].to(x.dtype)  # (N, 1, T, M)
    pts = x[:, :, :, joint, :] * m  # (N, C, T, M)
    count = m.sum(dim=(2, 3)).clamp_min(1.0)  # (N, 1)
    return (pts.sum(dim=(2, 3)) / count)[:, :, None, None, None]


def rotation_yaw(angle: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` rotations about the vertical (y) axis."""
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([c, z, s, z, o, z, -s, z, c], dim=-1).view(-1, 3, 3)


def rotation_pitch(angle: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` rotations about the horizontal (x) axis."""
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([o, z, z, z, c, -s, z, s, c], dim=-1).view(-1, 3, 3)


def _rotate(x: torch.Tensor, R: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
    return torch.einsum("nij,njtvm->nitvm", R, x - center) + center


def joint_noise(
    x: torch.Tensor,
    sigma: tuple[float, float, float] = REEXTRACTION_SIGMA,
    generator: torch.Generator | None = None,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Add i.i.d. Gaussian noise with per-axis ``sigma`` (metres) to present joints only.

    ``scale`` (N,) multiplies sigma per sample. This is also the "noise-perturbed
    skeletons" validation: a fixed-seed call at the re-extraction error scale.
    """
    mask = valid_mask(x)
    s = torch.tensor(sigma, dtype=x.dtype, device=x.device).view(1, -1, 1, 1, 1)
    if scale is not None:
        s = s * scale.view(-1, 1, 1, 1, 1)
    noise = torch.randn(x.shape, generator=generator, device="cpu", dtype=x.dtype).to(x.device)
    return torch.where(mask, x + noise * s, torch.zeros_like(x))


def temporal_resample(x: torch.Tensor, start: torch.Tensor, step: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Output frame ``t < length[n]`` samples source frame ``start[n] + t * step[n]`` (linear).

    Frames past ``length`` are zero. Between a present and an absent source frame
    the nearest one is taken, so padding never blends into motion.
    """
    N, C, T, V, M = x.shape
    mask = valid_mask(x)[:, 0, :, 0, :]  # (N, T, M)
    t = torch.arange(T, device=x.device, dtype=x.dtype)
    src = (start[:, None] + t[None, :] * step[:, None]).clamp(0, T - 1)  # (N, T)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=T - 1)
    w = (src - lo.to(x.dtype))[:, None, :, None, None]
    idx = lambda i: i[:, None, :, None, None].expand(N, C, T, V, M)  # noqa: E731
    x_lo, x_hi = x.gather(2, idx(lo)), x.gather(2, idx(hi))
    m_lo = mask.gather(1, lo[:, :, None].expand(N, T, M))[:, None, :, None, :]
    m_hi = mask.gather(1, hi[:, :, None].expand(N, T, M))[:, None, :, None, :]
    lerp = x_lo + (x_hi - x_lo) * w
    nearest = torch.where(w < 0.5, x_lo, x_hi)
    near_valid = torch.where(w < 0.5, m_lo, m_hi)
    out = torch.where(m_lo & m_hi, lerp, nearest)
    keep = near_valid & (t[None, None, :, None, None] < length.to(x.dtype)[:, None, None, None, None])
    return torch.where(keep, out, torch.zeros_like(out))


@dataclass
class AugmentConfig:
    """Ranges of the random transforms (uniform unless said otherwise); zero disables one."""

    crop: tuple[float, float] = (0.8, 1.0)  # fraction of the clip's present frames kept
    speed: tuple[float, float] = (0.85, 1.15)  # playback speed of the kept window
    scale: tuple[float, float] = (0.9, 1.1)
    yaw_deg: float = 20.0
    pitch_deg: float = 5.0
    depth_shift: float = 0.08  # fraction of the distance, along the viewing ray
    noise_sigma: tuple[float, float, float] = REEXTRACTION_SIGMA
    noise_max: float = 1.25  # per-sample noise multiplier drawn from U(0, noise_max)
    noise_offset: float = 0.5  # share of the noise that is a constant per-joint offset
    root_joint: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Augmenter:
    """Callable ``x -> augmented x`` for a batch on any device; reproducible via ``generator``."""

    config: AugmentConfig = field(default_factory=AugmentConfig)
    spatial_3d: bool = True

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        cfg = self.config
        N, C = x.shape[:2]
        dev, dt = x.device, x.dtype

        def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
            r = torch.rand((N, *shape), generator=generator, dtype=dt)
            return (lo + (hi - lo) * r).to(dev)

        x = self._temporal(x, uniform)
        if not self.spatial_3d or C != 3:
            return x
        mask = valid_mask(x)
        center = body_center(x, mask, cfg.root_joint)
        x = (x - center) * uniform(*cfg.scale).view(N, 1, 1, 1, 1) + center
        yaw = uniform(-1.0, 1.0) * math.radians(cfg.yaw_deg)
        x = _rotate(x, rotation_yaw(yaw), center)
        pitch = uniform(-1.0, 1.0) * math.radians(cfg.pitch_deg)
        x = _rotate(x, rotation_pitch(pitch), torch.zeros_like(center))
        center = body_center(x, mask, cfg.root_joint)
        x = x + center * uniform(-cfg.depth_shift, cfg.depth_shift).view(N, 1, 1, 1, 1)
        x = self._noise(x, uniform, generator)
        return torch.where(mask, x, torch.zeros_like(x))

    def _temporal(self, x: torch.Tensor, uniform) -> torch.Tensor:
        cfg = self.config
        T = x.shape[2]
        present = valid_mask(x)[:, 0, :, 0, :].any(dim=-1)  # (N, T)
        t = torch.arange(T, device=x.device)
        first = torch.where(present, t, T).min(dim=1).values.to(x.dtype)
        last = torch.where(present, t, -1).max(dim=1).values.to(x.dtype)
        span = (last - first + 1).clamp_min(1.0)
        keep = (span * uniform(*cfg.crop)).clamp_min(1.0)
        start = first + (span - keep) * uniform(0.0, 1.0)
        step = uniform(*cfg.speed)
        length = torch.minimum(torch.ceil(keep / step), torch.full_like(keep, T))
        return temporal_resample(x, start, step, length)

    def _noise(self, x: torch.Tensor, uniform, generator) -> torch.Tensor:
        cfg = self.config
        N, C, T, V, M = x.shape
        sigma = torch.tensor(cfg.noise_sigma, dtype=x.dtype, device=x.device).view(1, C, 1, 1, 1)
        amount = uniform(0.0, cfg.noise_max).view(N, 1, 1, 1, 1) * sigma
        a = cfg.noise_offset
        white = torch.randn((N, C, T, V, M), generator=generator, dtype=x.dtype).to(x.device)
        offset = torch.randn((N, C, 1, V, M), generator=generator, dtype=x.dtype).to(x.device)
        # mix keeps the total per-frame std at `amount`
        return x + amount * (math.sqrt(1 - a * a) * white + a * offset)
