"""acdc-bench: sparse-training benchmarks (AC/DC, AC/DC++, AST-GC, GMP, RigL)."""
