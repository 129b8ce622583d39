"""Graph-level rewrites: rule files (`*.rw`) and the Python patterns they cannot say."""
