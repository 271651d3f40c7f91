"""gridbench.cases.data."""
