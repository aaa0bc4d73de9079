"""Test settings: real model calls are blocked unless GOME_ALLOW_REAL_MODELS=1."""

import os

os.environ["GOME_TESTING"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
