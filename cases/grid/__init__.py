"""gridbench.cases.grid."""
