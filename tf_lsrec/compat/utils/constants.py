"""The constants of ``recommenders.utils.constants`` that the sequential notebooks read."""

SEED = 42
"""Microsoft's default random seed."""
