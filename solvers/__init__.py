"""gridbench.solvers."""
