"""The embedded synthetic NTU-like action data set (``python -m ciasa.data.synth --out DIR``).

Forward kinematics of joint-angle curves on an NTU-25 skeleton with per-subject bone
lengths (:mod:`.body`), an action library (:mod:`.motions`), NTU-like sensor views
and Kinect-like jitter (:mod:`.scene`), assembled into ST-GCN-layout splits
(:mod:`.generate`) and drawn as skeleton strips (:mod:`.plot`).
"""

from ciasa.data.synth.generate import SynthConfig, class_names, generate, write_dataset

__all__ = ["SynthConfig", "class_names", "generate", "write_dataset"]
