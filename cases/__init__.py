"""gridbench.cases."""
