"""Glue the Snakemake workflow needs between the stages: clip selection, exporting and
collecting skeletons, overlay videos, and a guard that turns a failed render into a
report entry. Each module is importable and has a CLI (``python -m pipeline.X``)."""
