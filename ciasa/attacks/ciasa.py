"""CIASA: the constrained iterative attack on skeleton action recognition."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ciasa.attacks import constraints, losses
from ciasa.attacks.base import (
    AttackResult,
    as_tensor_batch,
    check_batch,
    check_labels,
    frozen,
    model_device,
    resolve_device,
    resolve_layout,
)
from ciasa.attacks.discriminator import BoneCosineDiscriminator
from ciasa.skeleton import SkeletonLayout

log = logging.getLogger(__name__)

MODES = ("basic", "localized", "advanced")
DEFAULT_EPS = {"basic": 0.01, "localized": 0.04}
DEFAULT_REGION = {"basic": "all", "localized": "set-1", "advanced": "legs"}
# 100 Adam steps of lr 0.01: the budget every number in docs/attacks.md was measured with
# (benchmarks/attack_numbers.py).
DEFAULT_MAX_ITER = 100
# Real frames kept for the discriminator (18 x 18 floats each: 20k frames = 26 MB).
MAX_REAL_FRAMES = 20000


class CIASA:
    r"""Constrained iterative attack for skeleton actions (targeted).

    Liu, Akhtar, Mian, "Adversarial Attack on Skeleton-Based Human Action Recognition",
    IEEE TNNLS 2020 (Algorithm 1).

    Distance measure: per-joint L-inf box of radius ``eps`` around the clean joint
    (one global radius, or one per joint: hierarchical clipping), followed by spatial
    skeleton realignment (SSR) that restores every bone's clean length; SSR can move a
    child joint outside its box, which :mod:`ciasa.attacks.metrics` measures.

    Each iteration minimises ``L = L_pred + lam * (L_smooth + L_adv(A))`` over the
    skeleton with Adam: ``L_pred`` is the cross-entropy towards the target class,
    ``L_smooth`` the mean joint-acceleration norm of the perturbed clip, ``L_adv(A) =
    (D(X') - 1)^2`` the LSGAN generator loss of a discriminator ``D`` that sees the
    bone-cosine map of every (non-padded) frame; ``D`` itself takes an Adam step on
    ``(D(X_real) - 1)^2 + D(X')^2`` with real frames drawn unpaired from a clean data
    set. Then the skeleton is clipped and realigned. Joints outside the attack region,
    zero-padded frames, absent bodies and OpenPose's score channel stay bit-identical to
    the clean input.

    Args:
        model: classifier ``(N, C, T, V, M) -> (N, K)`` logits; run in eval mode,
            weights untouched.
        mode (str): 'basic' (all joints, global eps), 'localized' (one region, global
            eps), 'advanced' (the two legs, hierarchical eps) (default 'basic').
        eps (float | sequence | None): clipping radius in metres: a scalar, or one value
            per joint (default: basic 0.01, localized 0.04, advanced the layout's
            hierarchical radii: hips 0.01, knees 0.05, ankles 0.15, feet 0.25).
        region (str | None): attack region: 'all', 'legs' or a name in ``layout.regions``
            (default: basic 'all', localized 'set-1', advanced 'legs'). With SSR on, a
            region joint whose bone-tree descendants leave the region is frozen (moving
            it would change a bone outside the region).
        lam (float): weight of the smoothness and GAN terms (default 10.0).
        lr (float): Adam learning rate for the skeleton and the discriminator (default 0.01).
        max_iter (int): iterations (default 100).
        use_ssr, use_smooth, use_gan (bool): the three constraints (default True each).
        target: 'least_likely' (the clean input's least likely class), 'random' (a
            uniformly drawn wrong class) or a ``(N,)`` LongTensor (default 'least_likely').
        early_stop (float | None): stop a sample once its prediction is the target with
            at least this probability; None runs every iteration (default None).
        real_source: clean skeletons ``(N, C, T, V, M)`` (tensor, array or a
            ``SkeletonSet``) the discriminator learns real frames from (default: the
            clean batch being attacked, its frames shuffled).
        layout: skeleton layout (default: the model's, else guessed from V).
        device: 'auto' | 'cpu' | 'cuda' (default 'auto': the model's device).
        seed (int | None): seeds the discriminator, random targets and real-frame draws.
        progress (callable | None): called as ``progress(iteration)`` after each step.

    Shape:
        x ``(N, C, T, V, M)`` float; y ``(N,)`` long. Returns :class:`AttackResult`.

    Examples::
        >>> attack = CIASA(model, mode='advanced', max_iter=100)
        >>> result = attack(x, y)  # result.adversarial, result.success, ...
    """

    def __init__(
        self,
        model: nn.Module,
        mode: str = "basic",
        eps: float | Tensor | np.ndarray | list[float] | None = None,
        region: str | None = None,
        lam: float = 10.0,
        lr: float = 0.01,
        max_iter: int = DEFAULT_MAX_ITER,
        use_ssr: bool = True,
        use_smooth: bool = True,
        use_gan: bool = True,
        target: str | Tensor = "least_likely",
        early_stop: float | None = None,
        real_source: Any = None,
        layout: str | SkeletonLayout | None = None,
        device: str | torch.device = "auto",
        seed: int | None = 0,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown CIASA mode {mode!r} (use one of {', '.join(MODES)})")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        if lr <= 0 or lam < 0:
            raise ValueError(f"need lr > 0 and lam >= 0, got lr={lr}, lam={lam}")
        if isinstance(target, str) and target not in ("least_likely", "random"):
            raise ValueError(f"target must be 'least_likely', 'random' or a tensor, got {target!r}")
        if early_stop is not None and not (0.0 <= early_stop <= 1.0):
            raise ValueError(f"early_stop is a probability in [0, 1], got {early_stop}")
        self.model = model
        self.mode = mode
        # Without a layout from the user or the model, NTU-25 (the paper's main data set).
        self.layout = resolve_layout(layout, model, num_joints=25)
        self.region = region if region is not None else DEFAULT_REGION[mode]
        joints = self.layout.region_joints(self.region)  # KeyError names the known regions
        self.region_mask = constraints.region_mask(joints, self.layout.num_joints)
        if eps is None:
            eps = self.layout.hierarchical_eps() if mode == "advanced" else DEFAULT_EPS[mode]
        self.eps = constraints.joint_eps(eps, self.layout.num_joints)
        self.use_ssr = use_ssr
        self.joint_mask = self.region_mask & (self.eps > 0)
        if use_ssr:
            movable = constraints.ssr_movable(self.joint_mask, self.layout)
            frozen_joints = (self.joint_mask & ~movable).nonzero().flatten().tolist()
            if frozen_joints:
                names = [self.layout.joint_names[j] for j in frozen_joints]
                log.info("region %s: SSR freezes %s (their bone-tree children lie outside the region)", self.region, names)
            self.joint_mask = movable
        if not self.joint_mask.any():
            raise ValueError(
                f"region {self.region!r} with this eps leaves no joint the attack may move "
                f"(with SSR a joint moves only if its whole subtree is in the region)"
            )
        self.lam = float(lam)
        self.lr = float(lr)
        self.max_iter = int(max_iter)
        self.use_smooth = use_smooth
        self.use_gan = use_gan
        self.target = target
        self.early_stop = early_stop
        self.real_source = real_source
        self.device = model_device(model) if device == "auto" and model_device(model) is not None else resolve_device(device)
        self.seed = seed
        self.progress = progress
        self._real_bank: Tensor | None = None

    # ------------------------------------------------------------------ set-up helpers
    def _generator(self) -> torch.Generator:
        g = torch.Generator(device="cpu")
        g.manual_seed(0 if self.seed is None else int(self.seed))
        return g

    def _choose_target(self, clean_logits: Tensor, y: Tensor, gen: torch.Generator) -> Tensor:
        n, k = clean_logits.shape
        if isinstance(self.target, str) and self.target == "least_likely":
            return clean_logits.argmin(dim=1)
        if isinstance(self.target, str):  # random wrong class
            if k < 2:
                raise ValueError("a random target needs at least two classes")
            shift = torch.randint(1, k, (n,), generator=gen).to(y.device)
            return (y + shift) % k
        return check_labels(self.target, n, k, "target").to(y.device)

    def _real_maps(self, clean: Tensor, channels: Tensor, gen: torch.Generator) -> Tensor:
        """Bone-cosine maps of real frames ``(R, B, B)``, from ``real_source`` or the clean batch."""
        if self.real_source is None:
            return _valid_maps(clean, self.layout, channels)
        if self._real_bank is None:
            self._real_bank = real_frame_bank(self.real_source, self.layout, channels, gen, self.device)
        return self._real_bank

    # ------------------------------------------------------------------ the attack
    def __call__(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> AttackResult:
        start = time.perf_counter()
        x = as_tensor_batch(x)
        check_batch(x, self.layout)
        clean = x.detach().to(self.device, torch.float32)
        n, c, t, v, m = clean.shape
        gen = self._generator()
        channels = constraints.default_channel_mask(self.layout, c)
        frames = constraints.frame_mask(clean)
        movable = constraints.movable_mask(clean, self.joint_mask, channels)
        eps = self.eps.to(self.device)
        joint_w = self.joint_mask.to(self.device)

        with frozen(self.model):
            with torch.no_grad():
                clean_logits = self.model(clean)
            if clean_logits.dim() != 2 or clean_logits.shape[0] != n:
                raise ValueError(f"model returned logits of shape {tuple(clean_logits.shape)} for {n} samples")
            k = clean_logits.shape[1]
            labels = check_labels(torch.as_tensor(y), n, k, "labels").to(self.device)
            target = self._choose_target(clean_logits, labels, gen)

            disc = opt_d = real = None
            fake_index = None
            if self.use_gan:
                torch.manual_seed(0 if self.seed is None else int(self.seed))
                disc = BoneCosineDiscriminator(len(self.layout.major_bones)).to(self.device)
                opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr)
                real = self._real_maps(clean, channels, gen)
                frame_sel = frames.squeeze(3).squeeze(1)  # (N, T, M)
                fake_index = frame_sel.nonzero()[:, 0]  # sample of every valid frame
                frames_per_sample = torch.bincount(fake_index, minlength=n).clamp_min(1).to(clean.dtype)
                if real.shape[0] == 0:
                    raise ValueError("the real data for the discriminator holds no non-empty frame")

            adv = clean.clone().requires_grad_(True)
            opt = torch.optim.Adam([adv], lr=self.lr)
            done = torch.zeros(n, dtype=torch.bool, device=self.device)
            snapshot = clean.clone()
            iterations = torch.full((n,), self.max_iter, dtype=torch.long, device=self.device)

            step_seconds: list[float] = []
            for it in range(self.max_iter):
                tick = time.perf_counter()
                logits = self.model(adv)
                if self.early_stop is not None:
                    with torch.no_grad():
                        prob = logits.softmax(dim=1).gather(1, target[:, None]).squeeze(1)
                        reached = (logits.argmax(dim=1) == target) & (prob >= self.early_stop) & ~done
                        if reached.any():
                            snapshot = torch.where(reached.view(n, 1, 1, 1, 1), adv.detach(), snapshot)
                            iterations = torch.where(reached, torch.full_like(iterations, it), iterations)
                            done |= reached
                        if bool(done.all()):
                            break

                loss = F.cross_entropy(logits, target, reduction="sum")
                if self.use_smooth:
                    loss = loss + self.lam * losses.smoothness_loss(adv, frames, joint_w, channels).sum()
                loss_d = None
                if self.use_gan:
                    fake = losses.bone_cosine_map(adv, self.layout, channels)[frame_sel]  # (F, B, B)
                    draw = torch.randint(0, real.shape[0], (fake.shape[0],), generator=gen).to(self.device)
                    scores = disc(torch.cat([fake, real[draw]]).unsqueeze(1))
                    d_fake, d_real = scores[: fake.shape[0]], scores[fake.shape[0] :]
                    per_sample = torch.zeros(n, device=self.device, dtype=clean.dtype).index_add(
                        0, fake_index, losses.lsgan_generator_loss(d_fake)
                    )
                    loss = loss + self.lam * (per_sample / frames_per_sample).sum()
                    loss_d = losses.lsgan_discriminator_loss(d_real, d_fake)

                opt.zero_grad(set_to_none=True)
                loss.backward(inputs=[adv], retain_graph=loss_d is not None)
                if loss_d is not None:
                    opt_d.zero_grad(set_to_none=True)
                    loss_d.backward(inputs=list(disc.parameters()))
                    opt_d.step()
                with torch.no_grad():
                    adv.grad.mul_(movable)  # untouchable coordinates keep no Adam momentum
                opt.step()
                with torch.no_grad():
                    adv.copy_(constraints.project(adv, clean, eps, movable, self.layout, self.use_ssr, channels))
                if adv.is_cuda:
                    torch.cuda.synchronize(adv.device)
                step_seconds.append(time.perf_counter() - tick)
                if self.progress is not None:
                    self.progress(it + 1)

            with torch.no_grad():
                final = torch.where(done.view(n, 1, 1, 1, 1), snapshot, adv.detach())
                final_logits = self.model(final)
        prob = final_logits.softmax(dim=1)
        pred = final_logits.argmax(dim=1)
        return AttackResult(
            adversarial=final.cpu(),
            labels=labels.cpu(),
            target=target.cpu(),
            clean_pred=clean_logits.argmax(dim=1).cpu(),
            prediction=pred.cpu(),
            target_confidence=prob.gather(1, target[:, None]).squeeze(1).cpu(),
            success=(pred == target).cpu(),
            iterations=iterations.cpu(),
            seconds=time.perf_counter() - start,
            extra={"eps": self.eps.clone(), "joint_mask": self.joint_mask.clone(), "mode": self.mode,
                   "region": self.region, "step_seconds": step_seconds},
        )


def _valid_maps(x: Tensor, layout: SkeletonLayout, channels: Tensor) -> Tensor:
    frames = constraints.frame_mask(x).squeeze(3).squeeze(1)
    with torch.no_grad():
        return losses.bone_cosine_map(x, layout, channels)[frames]


def real_frame_bank(
    source: Any,
    layout: SkeletonLayout,
    channels: Tensor,
    gen: torch.Generator,
    device: torch.device,
    max_frames: int = MAX_REAL_FRAMES,
    chunk: int = 64,
) -> Tensor:
    """Bone-cosine maps ``(R, B, B)`` of up to ``max_frames`` random real frames of ``source``.

    ``source`` is an ``(N, C, T, V, M)`` tensor or array (a memmap works) or anything
    with a ``.data`` array (a ``SkeletonSet``). Clips are visited in random order and
    read a chunk at a time, so a multi-GB training split is never loaded whole.
    """
    data = source if isinstance(source, (np.ndarray, Tensor)) else getattr(source, "data", source)
    if data.ndim != 5 or data.shape[3] != layout.num_joints:
        raise ValueError(
            f"real data for the discriminator must be (N, C, T, V={layout.num_joints}, M), "
            f"got shape {tuple(data.shape)}"
        )
    if data.shape[1] != channels.numel():
        raise ValueError(
            f"real data has {data.shape[1]} channels but the attacked data has {channels.numel()}"
        )
    order = torch.randperm(data.shape[0], generator=gen).numpy()
    banks: list[Tensor] = []
    total = 0
    for start in range(0, len(order), chunk):
        idx = np.sort(order[start : start + chunk])
        block = torch.as_tensor(np.asarray(data[idx], dtype=np.float32), device=device)
        maps = _valid_maps(block, layout, channels)
        banks.append(maps)
        total += maps.shape[0]
        if total >= max_frames:
            break
    bank = torch.cat(banks) if banks else torch.empty(0, len(layout.major_bones), len(layout.major_bones))
    if bank.shape[0] > max_frames:
        keep = torch.randperm(bank.shape[0], generator=gen)[:max_frames].to(bank.device)
        bank = bank[keep]
    return bank.to(device)
