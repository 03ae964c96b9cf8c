"""Class-typical whole-body posture: the small lean, weight shift and knee bend that go with an action.

People do not move only the limb an action needs: someone drinking leans back a
little, someone reading shifts weight onto one leg. In real recordings such cues are
weak (a few centimetres, varying from person to person) but they correlate with the
class, so classifiers trained on them come to rely on the trunk and the legs as well
as on the arms. Without them a classifier of the synthetic set learns to ignore every
joint the action does not move, which no real classifier does, and an attack
restricted to the legs (CIASA's advanced mode) would have nothing to act on.

Each class gets a fixed signature drawn from its A-number; each performance scales it
by a random factor and adds its own variation of about the same size, so the cue is
predictive on average and unreliable on any single clip.
"""

from __future__ import annotations

import numpy as np

from ciasa.data.synth.motions import LEFT, RIGHT, PoseBuilder, envelope

# Typical size of each cue, degrees (the weight shift is metres). A 3 degree pelvis lean
# moves the shoulders by ~3 cm; a 4 degree knee bend lowers the hip by ~1 cm.
CUE_SCALE = {
    "pelvis_pitch": 3.0,
    "pelvis_roll": 1.5,
    "spine_roll": 2.5,
    "spine_yaw": 4.0,
    "neck_pitch": 4.0,
    "neck_roll": 3.0,
    "knee": 4.0,
    "hip_abd": 2.0,
    "weight_shift": 0.015,
}


def class_signature(seed: int, ntu_id: int) -> dict[str, float]:
    """The class's typical cue values, the same in every subset and for every subject."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 4, int(ntu_id)]))
    return {name: float(rng.normal(0.0, scale)) for name, scale in CUE_SCALE.items()}


def add_posture_cues(p: PoseBuilder, signature: dict[str, float]) -> None:
    """Blend the class's posture into a performance while the action is under way."""
    rng = p.rng
    w = envelope(p.u, *p.k(0.0, 0.2, 0.8, 1.0))
    value = {
        name: signature[name] * rng.uniform(0.3, 1.3) + rng.normal(0.0, 0.7 * CUE_SCALE[name]) for name in CUE_SCALE
    }
    for angle in ("pelvis_pitch", "pelvis_roll", "spine_roll", "spine_yaw", "neck_pitch", "neck_roll"):
        p.trunk[angle] += value[angle] * w
    for side in (LEFT, RIGHT):
        # the knee bend is stronger on the leg carrying the weight
        share = 0.5 + 0.5 * np.tanh(side * value["weight_shift"] / CUE_SCALE["weight_shift"])
        p.bend_knees(side, np.abs(value["knee"]) * 2.0 * share * w)
        p.leg[side]["hip_abd"] += side * value["hip_abd"] * w
    p.root_shift[:, 0] += value["weight_shift"] * w
