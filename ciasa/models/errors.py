"""The models package's one exception, in a module of its own so that the checkpoint
reader and the architecture registry can both raise it without importing each other."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be turned into the requested model."""
