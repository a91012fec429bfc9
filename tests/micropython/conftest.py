"""``lib/`` and ``runner.py`` run under MicroPython only: pytest does not collect them."""

collect_ignore = ["lib", "runner.py"]
