"""The Stackelberg GSESS case (paper 000; design ``../shared/specs/stackelberg-gsess.md``):
a DSO leader posting prices to three followers on the 38-node feeder.

Built so far: the followers as convex QPs in the prices with their exact best responses
(:mod:`.follower`) and the leader's exact single-level MILP (:mod:`.bilevel`), tested on the
spec's hand-solvable instances (``tests/test_stackelberg_bilevel.py``). The case itself (data,
referee, registration) is not registered yet.
"""
