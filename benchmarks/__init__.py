"""gridbench.benchmarks."""
