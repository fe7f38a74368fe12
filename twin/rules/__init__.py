"""Alarm rules: their shape, defaults and loading, per-device state and
transitions, the engine over reading batches, and the elderly-care rules and
baselines.

May import ``twin.model`` and ``twin.errors`` only.
"""
