"""NTU RGB+D 60/120 facts: action class names, sample names and the official splits.

A sample name such as ``S001C002P003R002A013`` encodes the setup (S), camera (C),
performer (P), replication (R) and action (A); the numbers are 1-based. Label ``k``
(0-based) is action ``A{k+1:03d}``, named ``NTU_ACTIONS[k]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ciasa.cli import BadInput

# Index 0 is A001. The first 60 are NTU RGB+D 60, all 120 are NTU RGB+D 120.
NTU_ACTIONS: tuple[str, ...] = (
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "reach into pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
    # NTU RGB+D 120 additions (A061-A120)
    "put on headphone",
    "take off headphone",
    "shoot at the basket",
    "bounce ball",
    "tennis bat swing",
    "juggling table tennis balls",
    "hush (quite)",
    "flick hair",
    "thumb up",
    "thumb down",
    "make ok sign",
    "make victory sign",
    "staple book",
    "counting money",
    "cutting nails",
    "cutting paper (using scissors)",
    "snapping fingers",
    "open bottle",
    "sniff (smell)",
    "squat down",
    "toss a coin",
    "fold paper",
    "ball up paper",
    "play magic cube",
    "apply cream on face",
    "apply cream on hand back",
    "put on bag",
    "take off bag",
    "put something into a bag",
    "take something out of a bag",
    "open a box",
    "move heavy objects",
    "shake fist",
    "throw up cap/hat",
    "hands up (both hands)",
    "cross arms",
    "arm circles",
    "arm swings",
    "running on the spot",
    "butt kicks (kick backward)",
    "cross toe touch",
    "side kick",
    "yawn",
    "stretch oneself",
    "blow nose",
    "hit other person with something",
    "wield knife towards other person",
    "knock over other person (hit with body)",
    "grab other person's stuff",
    "shoot at other person with a gun",
    "step on foot",
    "high-five",
    "cheers and drink",
    "carry something with other person",
    "take a photo of other person",
    "follow other person",
    "whisper in other person's ear",
    "exchange things with other person",
    "support somebody with hand",
    "finger-guessing game (playing rock-paper-scissors)",
)

NTU60_ACTIONS = NTU_ACTIONS[:60]

# Official cross-subject training performers (NTU RGB+D 60) and cross-view training cameras.
XSUB_TRAIN_SUBJECTS: tuple[int, ...] = (
    1,
    2,
    4,
    5,
    8,
    9,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    25,
    27,
    28,
    31,
    34,
    35,
    38,
)
XVIEW_TRAIN_CAMERAS: tuple[int, ...] = (2, 3)
# NTU RGB+D 120 benchmarks: cross-subject-120 training performers, cross-setup training setups.
XSUB120_TRAIN_SUBJECTS: tuple[int, ...] = XSUB_TRAIN_SUBJECTS + (
    45,
    46,
    47,
    49,
    50,
    52,
    53,
    54,
    55,
    56,
    57,
    58,
    59,
    70,
    74,
    78,
    80,
    81,
    82,
    83,
    84,
    85,
    86,
    89,
    91,
    92,
    93,
    94,
    95,
    97,
    98,
    100,
    103,
)
XSET_TRAIN_SETUPS: tuple[int, ...] = tuple(range(2, 33, 2))
BENCHMARKS = ("xsub", "xview", "xsub120", "xset")

_NAME_RE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


@dataclass(frozen=True)
class SampleName:
    setup: int
    camera: int
    performer: int
    replication: int
    action: int  # 1-based, as in the name

    @property
    def label(self) -> int:
        """0-based class index."""
        return self.action - 1

    def __str__(self) -> str:
        return format_sample_name(self.setup, self.camera, self.performer, self.replication, self.action)


def parse_sample_name(name: str) -> SampleName:
    """Parse ``SsssCcccPpppRrrrAaaa`` (an optional ``.skeleton`` suffix or directory is ignored)."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _NAME_RE.match(stem)
    if m is None:
        raise BadInput(f"{name!r} is not an NTU sample name (expected SsssCcccPpppRrrrAaaa)")
    return SampleName(*(int(g) for g in m.groups()))


def format_sample_name(setup: int, camera: int, performer: int, replication: int, action: int) -> str:
    for what, v in (
        ("setup", setup),
        ("camera", camera),
        ("performer", performer),
        ("replication", replication),
        ("action", action),
    ):
        if not 0 <= v <= 999:
            raise ValueError(f"NTU sample name: {what} {v} does not fit three digits")
    return f"S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}"


def in_training_set(name: str | SampleName, benchmark: str) -> bool:
    """Whether a sample belongs to the official training split of ``benchmark``.

    'xsub' and 'xview' are NTU RGB+D 60's; 'xsub120' and 'xset' NTU RGB+D 120's.
    """
    s = parse_sample_name(name) if isinstance(name, str) else name
    if benchmark == "xsub":
        return s.performer in XSUB_TRAIN_SUBJECTS
    if benchmark == "xview":
        return s.camera in XVIEW_TRAIN_CAMERAS
    if benchmark == "xsub120":
        return s.performer in XSUB120_TRAIN_SUBJECTS
    if benchmark == "xset":
        return s.setup in XSET_TRAIN_SETUPS
    raise BadInput(f"unknown NTU benchmark {benchmark!r} (known: {', '.join(BENCHMARKS)})")


def default_class_names(num_classes: int) -> list[str]:
    """NTU names when the class count is NTU's (60 or 120 or fewer than 60), else ``class_k``.

    A label file alone does not say which data set it came from; data sets with up
    to 120 classes are overwhelmingly NTU subsets here, but a set whose count is not
    60 or 120 gets neutral names unless it brings a ``classes.json``.
    """
    if num_classes in (60, 120):
        return list(NTU_ACTIONS[:num_classes])
    return [f"class_{k}" for k in range(num_classes)]
