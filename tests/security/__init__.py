"""Attack reproductions: each test reproduces a case an attacker (or a careless user) found, and must stay green."""
