"""The models package's one exception, in a module of its own so that the checkpoint
reader and the architecture registry can both raise it without importing each other."""

from ciasa.cli import BadInput


class CheckpointError(BadInput):
    """A checkpoint file that cannot be turned into the requested model."""
