"""Same test name as in test_corpus.py, in another file: a different test."""


def test_passes():
    assert True
