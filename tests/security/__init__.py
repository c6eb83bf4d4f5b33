"""Attacks reproduced as tests: each file plays one case of a security issue as an attacker (or a
careless user) would, against the real code paths (real files, links, zips, Chroma, the CLI), and
must stay green. Each test says which case it covers; building blocks for hostile inputs are in
tests/security/hostile.py so other suites (the mixed-folder runs, the browser test) reuse them.
"""
