"""CIASA: the constrained iterative attack on skeleton action recognition."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ciasa.attacks import constraints, losses, objectives, plausibility
from ciasa.attacks.base import (
    AttackResult,
    as_tensor_batch,
    check_batch,
    check_labels,
    frozen,
    model_device,
    resolve_layout,
)
from ciasa.attacks.discriminator import BoneCosineDiscriminator
from ciasa.attacks.roundtrip import ErrorModel
from ciasa.cli import BadInput
from ciasa.device import resolve_device
from ciasa.skeleton import SkeletonLayout

log = logging.getLogger(__name__)

MODES = ("basic", "localized", "advanced")
OPTIMIZE = ("skeleton", "perturbation")
BOXES = ("loose", "strict")
DEFAULT_EPS = {"basic": 0.01, "localized": 0.04}
DEFAULT_REGION = {"basic": "all", "localized": "set-1", "advanced": "legs"}
# 100 Adam steps: the budget every number in docs/attacks.md was measured with
# (benchmarks/attack_numbers.py).
DEFAULT_MAX_ITER = 100
# Adam's step size. 'skeleton' moves joints in metres (the paper's 0.01); 'perturbation'
# moves the perturbation in units of each joint's eps, so one rate fits hierarchical
# radii from 1 to 25 cm (chosen on xsub *training* clips, reported on val: docs/attacks.md).
DEFAULT_LR = {"skeleton": 0.01, "perturbation": 1.0}
# The discriminator's Adam rate (the paper's).
DISCRIMINATOR_LR = 0.01
# Real frames kept for the discriminator (18 x 18 floats each: 20k frames = 26 MB).
MAX_REAL_FRAMES = 20000


@dataclass
class _Batch:
    """What one attack call works on: the clean batch, its masks, labels and targets."""

    clean: Tensor
    frames: Tensor  # (N, 1, T, 1, M) present body-frames
    movable: Tensor  # (N, C, T, V, M) coordinates the attack may change
    channels: Tensor  # (C,)
    eps: Tensor  # (1, 1, 1, V, 1)
    labels: Tensor
    clean_logits: Tensor
    target: Tensor | None  # None: untargeted
    limits: plausibility.Limits | None = None  # the clean clips' human-possible limits


@dataclass
class _Gan:
    """The discriminator, its optimiser, the real frames and where the fake frames come from."""

    disc: BoneCosineDiscriminator
    opt: torch.optim.Optimizer
    real: Tensor  # (R, B, B)
    frame_sel: Tensor  # (N, T, M) bool
    fake_index: Tensor  # sample index of every selected frame
    frames_per_sample: Tensor


@dataclass
class _Progress:
    """Early stopping and the per-step record (logit gap, timing)."""

    done: Tensor
    snapshot: Tensor
    iterations: Tensor
    gap_curve: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)


class CIASA:
    r"""Constrained iterative attack for skeleton actions.

    Liu, Akhtar, Mian, "Adversarial Attack on Skeleton-Based Human Action Recognition",
    IEEE TNNLS 2020 (Algorithm 1), in two formulations:

    - ``optimize='skeleton'``: Algorithm 1 as printed. Adam's variable is the skeleton
      ``V'``; after every step it is overwritten by ``SSR(clip(V'))``. Kept to reproduce
      the paper and for the ablation: the projection undoes most of each step (the logit
      gap stalls, docs/attacks.md).
    - ``optimize='perturbation'``: Adam's variable is a box perturbation ``delta``
      (``|delta_v| <= eps_v``, stored in units of eps) and the model is evaluated *at*
      ``SSR(clip(V + delta))``, with SSR differentiable, so each step is taken on the
      skeleton the model will actually see.

    Both keep every bone at its clean length and leave padding, absent bodies and joints
    outside the region bit-identical. SSR carries a parent's move to its children, so a
    child can end up outside its own eps box; ``box='strict'`` scales each body-frame's
    perturbation down until every joint is back inside (bisection,
    :func:`constraints.shrink_into_box`), after every step.

    The loss is ``L_pred + lam * (L_smooth + L_adv(A))``: ``L_pred`` from the target
    rule (:mod:`ciasa.attacks.objectives`: cross-entropy towards a target class, or a
    margin loss pushing the true class down for 'untargeted'); ``L_smooth`` one of
    :data:`losses.SMOOTHNESS`; ``L_adv(A) = (D(X') - 1)^2`` the LSGAN generator loss of
    a discriminator ``D`` on per-frame bone-cosine maps, which takes its own Adam step
    on ``(D(X_real) - 1)^2 + D(X')^2`` with real frames drawn unpaired from clean data.

    Transfer-aware (beyond the paper): with an ``error_model`` and ``error_samples=K``,
    ``L_pred`` is averaged over the candidate and K copies with render -> pose errors
    drawn afresh every step (:mod:`ciasa.attacks.roundtrip`), so the perturbation is
    optimised to survive the round trip's error on average.

    Args:
        model: classifier ``(N, C, T, V, M) -> (N, K)`` logits; run in eval mode,
            weights untouched.
        mode (str): 'basic' (all joints, global eps), 'localized' (one region, global
            eps), 'advanced' (the two legs, hierarchical eps) (default 'basic').
        eps (float | sequence | mapping | None): clipping radius in metres: a scalar, one
            value per joint, or radii by name (``{'feet': 0.3}``: a leg level of
            ``layout.leg_levels`` or a joint name) replacing those of the mode's default
            (default: :data:`DEFAULT_EPS`; advanced: the layout's per-level radii,
            :meth:`SkeletonLayout.leg_radii` in ciasa/skeleton.py).
        region (str | None): attack region: 'all', 'legs' or a name in ``layout.regions``
            (default: basic 'all', localized 'set-1', advanced 'legs'). With SSR on, a
            region joint whose bone-tree descendants leave the region is frozen.
        lam (float): weight of the smoothness and GAN terms (default 10.0).
        lr (float | None): Adam learning rate of the attack variable (default
            :data:`DEFAULT_LR` of the formulation: metres for 'skeleton', fractions of
            eps for 'perturbation').
        max_iter (int): iterations (default 100).
        use_ssr, use_smooth, use_gan (bool): the three constraints (default True each).
        optimize (str): 'skeleton' or 'perturbation' (default 'perturbation').
        target: 'least_likely', 'random', 'nearest', 'untargeted', a class index, or a
            ``(N,)`` LongTensor (default 'least_likely').
        smooth (str): smoothness term, one of :data:`losses.SMOOTHNESS` (default
            'perturbation').
        box (str): 'loose' (SSR may carry joints past their eps) or 'strict'.
        error_model (ErrorModel | None), error_samples (int): the transfer-aware term.
        plausible (Plausibility | None): human-possible limits (knee/elbow hinges, hip and
            ankle ranges, floor, planted feet, joint speed; :mod:`ciasa.attacks.plausibility`),
            projected and penalised (default ``Plausibility()``: all on, 'both');
            ``Plausibility.off()`` for the unconstrained attack.
        early_stop (float | None): stop a sample once its objective is met with at least
            this probability of the predicted class; None runs every iteration.
        real_source: clean skeletons ``(N, C, T, V, M)`` (tensor, array or a
            ``SkeletonSet``) the discriminator learns real frames from, loaded once per
            attack object (default: the clean batch being attacked).
        layout: skeleton layout (default: the model's, else guessed from V).
        device: 'auto' | 'cpu' | 'cuda' (default 'auto': the model's device).
        seed (int | None): seeds the discriminator, random targets, error samples and
            real-frame draws.
        progress (callable | None): called as ``progress(iteration)`` after each step.

    Shape:
        x ``(N, C, T, V, M)`` float; y ``(N,)`` long. Returns :class:`AttackResult`
        (``target`` is -1 and ``success`` means "no longer the true label" for the
        untargeted rule).

    Examples::
        >>> attack = CIASA(model, mode='advanced', target='untargeted')
        >>> result = attack(x, y)  # result.adversarial, result.success, ...
    """

    def __init__(
        self,
        model: nn.Module,
        mode: str = "basic",
        eps: float | Tensor | np.ndarray | list[float] | Mapping[str, float] | None = None,
        region: str | None = None,
        lam: float = 10.0,
        lr: float | None = None,
        max_iter: int = DEFAULT_MAX_ITER,
        use_ssr: bool = True,
        use_smooth: bool = True,
        use_gan: bool = True,
        target: str | int | Tensor = "least_likely",
        early_stop: float | None = None,
        real_source: Any = None,
        layout: str | SkeletonLayout | None = None,
        device: str | torch.device = "auto",
        seed: int | None = 0,
        progress: Callable[[int], None] | None = None,
        optimize: str = "perturbation",
        smooth: str = "perturbation",
        box: str = "loose",
        error_model: ErrorModel | None = None,
        error_samples: int = 0,
        plausible: plausibility.Plausibility | None = None,
    ) -> None:
        if mode not in MODES:
            raise BadInput(f"unknown CIASA mode {mode!r} (use one of {', '.join(MODES)})")
        if optimize not in OPTIMIZE:
            raise BadInput(f"unknown formulation optimize={optimize!r} (use one of {', '.join(OPTIMIZE)})")
        if smooth not in losses.SMOOTHNESS:
            raise BadInput(f"unknown smoothness term {smooth!r} (use one of {', '.join(losses.SMOOTHNESS)})")
        if box not in BOXES:
            raise BadInput(f"unknown box rule {box!r} (use one of {', '.join(BOXES)})")
        if max_iter < 1:
            raise BadInput(f"max_iter must be >= 1, got {max_iter}")
        lr = DEFAULT_LR[optimize] if lr is None else lr
        if lr <= 0 or lam < 0:
            raise BadInput(f"need lr > 0 and lam >= 0, got lr={lr}, lam={lam}")
        if early_stop is not None and not (0.0 <= early_stop <= 1.0):
            raise BadInput(f"early_stop is a probability in [0, 1], got {early_stop}")
        if error_samples < 0 or (error_samples > 0 and error_model is None):
            raise BadInput(f"error_samples={error_samples} needs an error model and must be >= 0")
        self.model = model
        self.mode = mode
        # Without a layout from the user or the model, NTU-25 (the paper's main data set).
        self.layout = resolve_layout(layout, model, num_joints=25)
        if error_model is not None and error_model.layout.name != self.layout.name:
            raise BadInput(
                f"{error_model.source}: error model for layout {error_model.layout.name!r}, "
                f"the attacked data is {self.layout.name!r}"
            )
        self.target = target if isinstance(target, Tensor) else objectives.parse_target(target)
        self.region = region if region is not None else DEFAULT_REGION[mode]
        joints = self.layout.region_joints(self.region)  # KeyError names the known regions
        self.region_mask = constraints.region_mask(joints, self.layout.num_joints)
        default_eps = self.layout.hierarchical_eps() if mode == "advanced" else DEFAULT_EPS[mode]
        if eps is None:
            eps = default_eps
        elif isinstance(eps, Mapping):
            eps = self.layout.named_eps(eps, default_eps)
        self.eps = constraints.joint_eps(eps, self.layout.num_joints)
        self.use_ssr = use_ssr
        self.joint_mask = self.region_mask & (self.eps > 0)
        if use_ssr:
            movable = constraints.ssr_movable(self.joint_mask, self.layout)
            frozen_joints = (self.joint_mask & ~movable).nonzero().flatten().tolist()
            if frozen_joints:
                names = [self.layout.joint_names[j] for j in frozen_joints]
                log.info(
                    "region %s: SSR freezes %s (their bone-tree children lie outside the region)", self.region, names
                )
            self.joint_mask = movable
        if not self.joint_mask.any():
            raise BadInput(
                f"region {self.region!r} with this eps leaves no joint the attack may move "
                f"(with SSR a joint moves only if its whole subtree is in the region)"
            )
        self.lam = float(lam)
        self.lr = float(lr)
        self.max_iter = int(max_iter)
        self.use_smooth = use_smooth
        self.use_gan = use_gan
        self.optimize = optimize
        self.smooth = smooth
        self.box = box
        if plausible is not None and not isinstance(plausible, plausibility.Plausibility):
            raise TypeError(f"plausible must be a Plausibility, got {type(plausible).__name__}")
        self.plausible = plausibility.Plausibility() if plausible is None else plausible
        self.groups = plausibility.limb_groups(self.joint_mask, self.layout)
        self.error_model = error_model
        self.error_samples = int(error_samples) if error_model is not None else 0
        self.early_stop = early_stop
        self.real_source = real_source
        self.device = (
            model_device(model) if device == "auto" and model_device(model) is not None else resolve_device(device)
        )
        self.seed = seed
        self.progress = progress
        self._real_bank: Tensor | None = None

    @property
    def untargeted(self) -> bool:
        return isinstance(self.target, str) and self.target == "untargeted"

    def settings(self) -> dict[str, Any]:
        """The options that decide what the attack does, for summaries and reports."""
        return {
            "formulation": self.optimize,
            "mode": self.mode,
            "region": self.region,
            "target_rule": self.target if not isinstance(self.target, Tensor) else "given",
            "prediction_loss": (
                f"margin (CW, true label, kappa {objectives.UNTARGETED_KAPPA:g})"
                if self.untargeted
                else "cross-entropy towards the target"
            ),
            "smoothness": self.smooth if self.use_smooth else None,
            "box": self.box,
            "ssr": self.use_ssr,
            "gan": self.use_gan,
            "lam": self.lam,
            "lr": self.lr,
            "max_iter": self.max_iter,
            "error_model": None if self.error_model is None else self.error_model.source,
            "error_samples": self.error_samples,
            "plausibility_settings": self.plausible.settings(self.layout),
        }

    # ------------------------------------------------------------------ set-up
    def _generator(self) -> torch.Generator:
        g = torch.Generator(device="cpu")
        g.manual_seed(0 if self.seed is None else int(self.seed))
        return g

    def _prepare(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray, gen: torch.Generator) -> _Batch:
        """Check the batch, build its masks, classify it clean and pick the targets."""
        x = as_tensor_batch(x)
        check_batch(x, self.layout)
        clean = x.detach().to(self.device, torch.float32)
        n, c = clean.shape[:2]
        channels = constraints.default_channel_mask(self.layout, c)
        with torch.no_grad():
            clean_logits = self.model(clean)
        if clean_logits.dim() != 2 or clean_logits.shape[0] != n:
            raise ValueError(f"model returned logits of shape {tuple(clean_logits.shape)} for {n} samples")
        labels = check_labels(torch.as_tensor(y), n, clean_logits.shape[1], "labels").to(self.device)
        limits = (
            plausibility.clean_limits(clean, self.layout, self.plausible, channels) if self.plausible.enabled else None
        )
        return _Batch(
            clean=clean,
            frames=constraints.frame_mask(clean),
            movable=constraints.movable_mask(clean, self.joint_mask, channels),
            channels=channels,
            eps=self.eps.to(self.device).view(1, 1, 1, -1, 1),
            labels=labels,
            clean_logits=clean_logits,
            target=objectives.choose_target(self.target, clean_logits, labels, gen),
            limits=limits,
        )

    def _real_maps(self, clean: Tensor, channels: Tensor, gen: torch.Generator) -> Tensor:
        """Bone-cosine maps of real frames ``(R, B, B)``: from ``real_source`` (built once), or the clean batch."""
        if self.real_source is None:
            return _valid_maps(clean, self.layout, channels)
        if self._real_bank is None:
            self._real_bank = real_frame_bank(self.real_source, self.layout, channels, gen, self.device)
        return self._real_bank

    def _gan(self, b: _Batch, gen: torch.Generator) -> _Gan | None:
        if not self.use_gan:
            return None
        torch.manual_seed(0 if self.seed is None else int(self.seed))
        disc = BoneCosineDiscriminator(len(self.layout.major_bones)).to(self.device)
        real = self._real_maps(b.clean, b.channels, gen)
        if real.shape[0] == 0:
            raise BadInput("the real data for the discriminator holds no non-empty frame")
        frame_sel = b.frames.squeeze(3).squeeze(1)  # (N, T, M)
        fake_index = frame_sel.nonzero()[:, 0]
        per_sample = torch.bincount(fake_index, minlength=b.clean.shape[0]).clamp_min(1).to(b.clean.dtype)
        return _Gan(
            disc, torch.optim.Adam(disc.parameters(), lr=DISCRIMINATOR_LR), real, frame_sel, fake_index, per_sample
        )

    def _variable(self, b: _Batch) -> Tensor:
        """Adam's variable: the skeleton itself, or the perturbation in units of eps (zero)."""
        start = b.clean.clone() if self.optimize == "skeleton" else torch.zeros_like(b.clean)
        return start.requires_grad_(True)

    # ------------------------------------------------------------------ one iteration
    def _realign(self, delta: Tensor, b: _Batch) -> Tensor:
        """``SSR(clip(V + delta))`` without gradient: the plausibility projection's trial point."""
        moved = constraints.clip(b.clean + delta, b.clean, b.eps, b.movable)
        return constraints.ssr(moved, b.clean, self.layout, b.movable, b.channels) if self.use_ssr else moved

    def _plausible_scale(self, delta: Tensor, b: _Batch) -> Tensor | None:
        """Per-joint factors that make ``SSR(clip(V + factor * delta))`` human-possible (None: no projection)."""
        if b.limits is None or not self.plausible.projects:
            return None
        return plausibility.projection_scales(
            delta.detach(), b.limits, self.layout, self.groups, lambda d: self._realign(d, b), self.plausible.steps
        )

    def _candidate(self, var: Tensor, b: _Batch, project: bool = True) -> Tensor:
        """The skeleton the model sees: ``V'`` itself, or ``SSR(clip(V + delta))``.

        With the plausibility projection, delta is first scaled (per body-frame and limb,
        factors found without gradient) so that the realigned skeleton meets the limits;
        the gradient then flows through the scaled perturbation. ``project=False`` gives
        the realigned skeleton before that scaling (what the penalty is charged on)."""
        if self.optimize == "skeleton":
            return var
        delta = var * b.eps
        scale = self._plausible_scale(delta, b) if project else None
        if scale is not None:
            delta = delta * scale
        moved = torch.where(b.movable, b.clean + delta, b.clean)
        if not self.use_ssr:
            return moved
        return constraints.ssr_differentiable(moved, b.clean, self.layout, b.movable, b.channels)

    def _predict(self, adv: Tensor, b: _Batch, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        """Logits of the candidate ``(N, K)`` and ``L_pred`` ``(N,)``, averaged over round-trip errors."""
        if not self.error_samples:
            logits = self.model(adv)
            return logits, objectives.prediction_loss(logits, b.target, b.labels)
        n, _, t, _, m = adv.shape
        k = self.error_samples
        noise = self.error_model.sample(n * k, t, m, gen, self.device, adv.dtype)
        noisy = adv.repeat(k, 1, 1, 1, 1) + noise * b.frames.repeat(k, 1, 1, 1, 1)
        all_logits = self.model(torch.cat([adv, noisy]))
        rep = lambda z: None if z is None else z.repeat(k + 1)  # noqa: E731
        loss = objectives.prediction_loss(all_logits, rep(b.target), rep(b.labels))
        return all_logits[:n], loss.view(k + 1, n).mean(dim=0)

    def _objective(
        self,
        adv: Tensor,
        pred_loss: Tensor,
        b: _Batch,
        gan: _Gan | None,
        gen: torch.Generator,
        var: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """``L_pred + lam * (L_smooth + L_adv(A))`` summed over the batch, and ``L_adv(D)``.

        The plausibility penalty (when on) is added with its own weight. With the projection
        on too, it is charged on the realigned skeleton *before* the projection's scaling:
        the projected one meets the limits already, and the penalty is there to steer the
        perturbation itself towards them, so that the projection takes back little."""
        loss = pred_loss.sum()
        if b.limits is not None and self.plausible.penalises:
            at = adv
            if var is not None and self.plausible.projects and self.optimize == "perturbation":
                at = self._candidate(var, b, project=False)
            loss = loss + self.plausible.weight * plausibility.penalty(at, b.limits, self.layout).sum()
        joint_w = self.joint_mask.to(self.device)
        if self.use_smooth:
            smooth = losses.smoothness_term(self.smooth, adv, b.clean, b.frames, joint_w, b.channels)
            loss = loss + self.lam * smooth.sum()
        if gan is None:
            return loss, None
        fake = losses.bone_cosine_map(adv, self.layout, b.channels)[gan.frame_sel]  # (F, B, B)
        draw = torch.randint(0, gan.real.shape[0], (fake.shape[0],), generator=gen).to(self.device)
        scores = gan.disc(torch.cat([fake, gan.real[draw]]).unsqueeze(1))
        d_fake, d_real = scores[: fake.shape[0]], scores[fake.shape[0] :]
        per_sample = torch.zeros(b.clean.shape[0], device=self.device, dtype=b.clean.dtype).index_add(
            0, gan.fake_index, losses.lsgan_generator_loss(d_fake)
        )
        loss = loss + self.lam * (per_sample / gan.frames_per_sample).sum()
        return loss, losses.lsgan_discriminator_loss(d_real, d_fake)

    def _step(
        self, loss: Tensor, loss_d: Tensor | None, var: Tensor, opt: torch.optim.Optimizer, gan: _Gan | None, b: _Batch
    ) -> None:
        """Adam on the attack variable (``L``) and on the discriminator (``L_adv(D)``)."""
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=[var], retain_graph=loss_d is not None)
        if loss_d is not None and gan is not None:
            gan.opt.zero_grad(set_to_none=True)
            loss_d.backward(inputs=list(gan.disc.parameters()))
            gan.opt.step()
        with torch.no_grad():
            var.grad.mul_(b.movable)  # untouchable coordinates keep no Adam momentum
        opt.step()

    def _project(self, var: Tensor, b: _Batch) -> None:
        """Back to the constraint set: clip + SSR of the skeleton, or the eps box of delta.

        With ``box='strict'`` the realigned skeleton also keeps every joint inside its box
        (:func:`constraints.shrink_into_box`); in the 'perturbation' formulation delta is
        then set to that skeleton's displacement, which SSR leaves where it is.
        """
        with torch.no_grad():
            if self.optimize == "skeleton":
                projected = constraints.project(
                    var,
                    b.clean,
                    b.eps.flatten(),
                    b.movable,
                    self.layout,
                    self.use_ssr and self.box == "loose",
                    b.channels,
                )
            else:
                projected = b.clean + var.clamp_(-1.0, 1.0).mul_(b.movable) * b.eps
            if self.box == "strict" and self.use_ssr:
                _, projected = constraints.shrink_into_box(
                    projected - b.clean, b.clean, b.eps.flatten(), b.movable, self.layout, b.channels
                )
            if self.optimize == "skeleton":
                scale = self._plausible_scale(projected - b.clean, b)
                if scale is not None:
                    projected = self._realign(scale * (projected - b.clean), b)
                var.copy_(projected)
            elif self.box == "strict" and self.use_ssr:
                var.copy_(torch.where(b.movable, (projected - b.clean) / b.eps.clamp_min(1e-12), var))

    def _track(self, it: int, adv: Tensor, logits: Tensor, b: _Batch, p: _Progress) -> None:
        """Record the mean logit gap; freeze samples that met the objective (early stop)."""
        with torch.no_grad():
            gap = objectives.logit_gap(logits, b.target, b.labels)
            p.gap_curve.append(float(gap.mean()))
            if self.early_stop is None:
                return
            prob = logits.softmax(dim=1).amax(dim=1)
            reached = (gap < 0) & (prob >= self.early_stop) & ~p.done
            if reached.any():
                n = adv.shape[0]
                p.snapshot = torch.where(reached.view(n, 1, 1, 1, 1), adv.detach(), p.snapshot)
                p.iterations = torch.where(reached, torch.full_like(p.iterations, it), p.iterations)
                p.done |= reached

    # ------------------------------------------------------------------ the attack
    def __call__(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> AttackResult:
        """Algorithm 1: per iteration, predict on the candidate, take one Adam step on
        ``L_pred + lam (L_smooth + L_adv)`` (and one on the discriminator), then project."""
        start = time.perf_counter()
        gen = self._generator()
        with frozen(self.model):
            b = self._prepare(x, y, gen)
            n = b.clean.shape[0]
            gan = self._gan(b, gen)
            var = self._variable(b)
            opt = torch.optim.Adam([var], lr=self.lr)
            p = _Progress(
                done=torch.zeros(n, dtype=torch.bool, device=self.device),
                snapshot=b.clean.clone(),
                iterations=torch.full((n,), self.max_iter, dtype=torch.long, device=self.device),
            )
            for it in range(self.max_iter):
                tick = time.perf_counter()
                adv = self._candidate(var, b)
                logits, pred_loss = self._predict(adv, b, gen)
                self._track(it, adv, logits, b, p)
                if self.early_stop is not None and bool(p.done.all()):
                    break
                loss, loss_d = self._objective(adv, pred_loss, b, gan, gen, var)
                self._step(loss, loss_d, var, opt, gan, b)
                self._project(var, b)
                if var.is_cuda:
                    torch.cuda.synchronize(var.device)
                p.step_seconds.append(time.perf_counter() - tick)
                if self.progress is not None:
                    self.progress(it + 1)
            return self._result(var, b, p, start)

    def _result(self, var: Tensor, b: _Batch, p: _Progress, start: float) -> AttackResult:
        n = b.clean.shape[0]
        with torch.no_grad():
            last = self._candidate(var, b).detach()
            final = torch.where(p.done.view(n, 1, 1, 1, 1), p.snapshot, last)
            # Selection, not arithmetic, for what the attack may not touch: bit-identical.
            final = torch.where(b.movable, final, b.clean)
            final_logits = self.model(final)
        prob = final_logits.softmax(dim=1)
        pred = final_logits.argmax(dim=1)
        if b.target is None:
            target = torch.full_like(pred, -1)
            success = pred != b.labels
            target_conf = torch.full(pred.shape, float("nan"), device=pred.device)
        else:
            target = b.target
            success = pred == target
            target_conf = prob.gather(1, target[:, None]).squeeze(1)
        return AttackResult(
            adversarial=final.cpu(),
            labels=b.labels.cpu(),
            target=target.cpu(),
            clean_pred=b.clean_logits.argmax(dim=1).cpu(),
            prediction=pred.cpu(),
            target_confidence=target_conf.cpu(),
            success=success.cpu(),
            iterations=p.iterations.cpu(),
            seconds=time.perf_counter() - start,
            extra={
                "eps": self.eps.clone(),
                "joint_mask": self.joint_mask.clone(),
                "mode": self.mode,
                "region": self.region,
                "step_seconds": p.step_seconds,
                "gap_curve": p.gap_curve,
                "untargeted": b.target is None,
                "settings": self.settings(),
            },
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
        raise BadInput(
            f"real data for the discriminator must be (N, C, T, V={layout.num_joints}, M), "
            f"got shape {tuple(data.shape)}"
        )
    if data.shape[1] != channels.numel():
        raise BadInput(f"real data has {data.shape[1]} channels but the attacked data has {channels.numel()}")
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
