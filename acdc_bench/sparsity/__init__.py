"""Masks, sparsity distributions and sparse-training methods."""
