"""One place that turns a user's ``--device`` choice into a ``torch.device``."""

from __future__ import annotations

import torch

from ciasa.cli import BadInput


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> the first CUDA GPU when present, else the CPU; 'cpu', 'cuda', 'cuda:N' as given.

    Asking for CUDA on a machine without it is bad input (``ValueError``, exit 2)
    rather than a silent CPU run, so a cluster job that lost its GPU fails loudly.
    """
    if isinstance(device, torch.device):
        device = str(device)
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise BadInput(f"device {device!r} requested but CUDA is not available here (use 'auto' or 'cpu')")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BadInput(f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
        return dev
    raise BadInput(f"unknown device {device!r} (use 'auto', 'cpu', 'cuda' or 'cuda:N')")
