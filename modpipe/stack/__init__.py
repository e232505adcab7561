"""The local stack of real servers (design.md section 6): a leaf used by the CLI, the tests and the benchmarks."""
