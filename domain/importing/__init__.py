"""Stage 2: importing a pending model by hashing it (`hashing`), and what happens when its
digest is one the library has (`promotion`, `merge_rules`)."""
