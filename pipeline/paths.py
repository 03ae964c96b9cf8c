"""Where every pipeline output lives, defined once.

The Snakemake rules (``workflow/rules/common.smk``) and the report builder both read
this module, so a path is never spelled twice. Templates use Snakemake's wildcard
syntax (``{clip}``, ``{condition}``, ...); :meth:`Paths.fill` substitutes them.

Under ``ROOT`` (``results_dir`` in the config, ``results/`` by default)::

    data/synth/{benchmark}/{split}_data.npy      generated demo set (ST-GCN layout)
    data/{source}/{benchmark}/...                converted user data (ntu_raw, pyskl)
    model/model.pt                               trained classifier (+ eval/ on the val split)
    classifiers/{model}/model.pt                 extra classifiers the pipeline trains (classifiers.NAME.train)
    clips/selection{tag}.txt                     the selected clip names, one per line
    attack{tag}/...                              ciasa.attack output for the shard's clips (one job)
    attack{tag}/clips/{clip}/{condition}.npy     every clip's skeletons as the attack wrote them (``--clips-out``)
    skeletons/{clip}/{condition}.npy             (3, T, 25, M) clip given to the renderer (one per-clip job
                                                 copies it from the attack's clips/: a declared file)
    videos/{clip}/{condition}.mp4                rendered video (+ .camera.json, .render.json)
    poses/{clip}/{condition}.npy                 re-extracted skeleton (+ .json, .landmarks.npz)
    media/{clip}/{condition}.mp4                 video with the recovered skeleton drawn on it
    figures/{clip}.png                           skeleton strip (clean vs perturbed, source vs recovered)
    sets{tag}/{domain}/{condition}/              ST-GCN layout sets fed to the classifiers
    classify{tag}/{model}/{domain}/{condition}/  predictions.csv, metrics.json per classifier
    report{tag}/index.html                       the report (+ summary.json, summary.md)
    benchmarks/{rule}/...tsv, logs/{rule}/...log Snakemake timings and job logs

``condition`` is ``clean``, ``control`` or ``perturbed`` (:data:`CONDITIONS`; ``control`` is a
random, smooth perturbation of the same per-joint, per-frame size as the attack's, written by
the attack beside the other two, so that a drop can be attributed to the attack's direction
rather than to any leg motion of that size); ``domain`` is ``skeleton`` (the sequences
the renderer was given) or ``rgb`` (the sequences re-extracted from the videos);
``tag`` is empty, or ``-shard{i}of{n}`` when the config selects a shard.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every condition a clip is rendered, extracted and classified in, in display order; the one
# list the rules, the collector and the report read (the config's ``control: false`` drops
# ``control``: pipeline.config.conditions).
CONDITIONS: tuple[str, ...] = ("clean", "control", "perturbed")
CONTROL = "control"
DOMAINS: tuple[str, ...] = ("skeleton", "rgb")
# The classifier the attack was computed against; other checkpoints get their config names.
ATTACKED_MODEL = "attacked"


def shard_tag(shard: tuple[int, int]) -> str:
    index, count = shard
    return "" if count == 1 else f"-shard{index}of{count}"


@dataclass(frozen=True)
class Paths:
    root: str = "results"
    tag: str = ""

    def _p(self, rel: str) -> str:
        return f"{self.root.rstrip('/')}/{rel}"

    # --- data and model ---------------------------------------------------------------
    def synth_dir(self) -> str:
        return self._p("data/synth")

    def converted_dir(self, source: str, benchmark: str) -> str:
        return self._p(f"data/{source}/{benchmark}")

    @staticmethod
    def model_place(name: str) -> str:
        """Where model ``name`` lives under the root: ``model`` for the attacked model,
        ``classifiers/NAME`` for an extra classifier. One training rule builds both, its
        ``{trained}`` wildcard being this place."""
        return "model" if name == ATTACKED_MODEL else f"classifiers/{name}"

    def trained_checkpoint(self, place: str = "{trained}") -> str:
        return self._p(f"{place}/model.pt")

    def model_dir(self) -> str:
        return self._p(self.model_place(ATTACKED_MODEL))

    def model_checkpoint(self) -> str:
        return self.trained_checkpoint(self.model_place(ATTACKED_MODEL))

    def classifier_dir(self, name: str = "{model}") -> str:
        """An extra classifier the pipeline trains (config ``classifiers.NAME.train``)."""
        return self._p(self.model_place(name))

    def classifier_checkpoint(self, name: str = "{model}") -> str:
        return self.trained_checkpoint(self.model_place(name))

    def model_eval_dir(self) -> str:
        return self._p("model/eval")

    # --- selection and attack ---------------------------------------------------------
    def selection(self) -> str:
        return self._p(f"clips/selection{self.tag}.txt")

    def attack_dir(self) -> str:
        """The shard's attack: one job for every selected clip (``python -m ciasa.attack``)."""
        return self._p(f"attack{self.tag}")

    def attack_summary(self) -> str:
        return f"{self.attack_dir()}/summary.json"

    def attack_per_sample(self) -> str:
        return f"{self.attack_dir()}/per_sample.csv"

    def attack_clips_dir(self) -> str:
        """Where the shard's attack writes every clip's skeletons (``--clips-out``); the
        per-clip :meth:`skeleton` files are copied from here, so that each is a declared
        output of its own small job while the attack stays one batched job per shard."""
        return f"{self.attack_dir()}/clips"

    # --- per (clip, condition) ----------------------------------------------------------
    def skeleton(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"skeletons/{clip}/{condition}.npy")

    def video(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"videos/{clip}/{condition}.mp4")

    def camera(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"videos/{clip}/{condition}.camera.json")

    def render_info(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"videos/{clip}/{condition}.render.json")

    def pose(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"poses/{clip}/{condition}.npy")

    def pose_info(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"poses/{clip}/{condition}.json")

    def pose_landmarks(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"poses/{clip}/{condition}.landmarks.npz")

    def media(self, clip: str = "{clip}", condition: str = "{condition}") -> str:
        return self._p(f"media/{clip}/{condition}.mp4")

    def strip(self, clip: str = "{clip}") -> str:
        return self._p(f"figures/{clip}.png")

    # --- aggregated ---------------------------------------------------------------------
    def set_dir(self, domain: str = "{domain}", condition: str = "{condition}") -> str:
        return self._p(f"sets{self.tag}/{domain}/{condition}")

    def classify_dir(self, model: str = "{model}", domain: str = "{domain}", condition: str = "{condition}") -> str:
        return self._p(f"classify{self.tag}/{model}/{domain}/{condition}")

    def predictions(self, model: str = "{model}", domain: str = "{domain}", condition: str = "{condition}") -> str:
        return f"{self.classify_dir(model, domain, condition)}/predictions.csv"

    def report_dir(self) -> str:
        return self._p(f"report{self.tag}")

    def benchmarks_dir(self) -> str:
        return self._p("benchmarks")

    def logs_dir(self) -> str:
        return self._p("logs")
