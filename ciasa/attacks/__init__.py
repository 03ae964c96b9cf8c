"""Adversarial attacks on skeleton action recognition: FGSM and CIASA, with their constraints.

``FGSM(model, eps)(x, y)`` returns a perturbed batch; ``CIASA(model, mode=...)(x, y)``
returns an :class:`AttackResult`. The pieces (clipping, SSR, losses, discriminator,
metrics) are plain functions and modules in the submodules.
"""

from ciasa.attacks.base import AttackResult
from ciasa.attacks.ciasa import CIASA, MODES, OPTIMIZE
from ciasa.attacks.constraints import (
    clip,
    frame_mask,
    joint_eps,
    movable_mask,
    project,
    shrink_into_box,
    ssr,
    ssr_differentiable,
    ssr_in_box,
)
from ciasa.attacks.discriminator import BoneCosineDiscriminator
from ciasa.attacks.fgsm import FGSM
from ciasa.attacks.losses import (
    acceleration,
    bone_cosine_map,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    smoothness_loss,
)
from ciasa.attacks.objectives import TARGET_RULES
from ciasa.attacks.roundtrip import ErrorModel, ErrorModelError, load_error_model

__all__ = [
    "CIASA",
    "OPTIMIZE",
    "TARGET_RULES",
    "ErrorModel",
    "ErrorModelError",
    "load_error_model",
    "shrink_into_box",
    "ssr_differentiable",
    "ssr_in_box",
    "FGSM",
    "MODES",
    "AttackResult",
    "BoneCosineDiscriminator",
    "acceleration",
    "bone_cosine_map",
    "clip",
    "frame_mask",
    "joint_eps",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "movable_mask",
    "project",
    "smoothness_loss",
    "ssr",
]
