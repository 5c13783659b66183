"""Settings for the whole suite."""

from hypothesis import settings

# A busy 2-core CI machine can stall one example past Hypothesis's 200 ms deadline, which
# fails the test for nothing. The properties are what these tests check; how fast the code
# is, bench/ measures.
settings.register_profile("writein", deadline=None)
settings.load_profile("writein")
