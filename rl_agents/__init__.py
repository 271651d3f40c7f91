"""gridbench.rl_agents."""
