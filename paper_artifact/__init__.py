"""Reproduction artifact for Steshin et al., PCCP 2025 (Mg-cluster GAP)."""

from .numerics import pin_environment

pin_environment()
