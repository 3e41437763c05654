"""What every test session of the repository shares (``tests/`` and each plugin's tests).

Ctrl-C reaches the processes the tests start. A shell without job control starts a background
command (``make test &``) with SIGINT ignored, and every process started from it inherits that:
the tests that press Ctrl-C on a streamkit process would then find it deaf and test how they
were launched, not streamkit. The session puts Python's own handler back, so that its children
start with Ctrl-C as a terminal gives it.
"""

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: tests that take longest on one worker (a Ray session, node coding agents): run first, so that
#: pytest-xdist fits the quick ones around them instead of waiting for them at the end
SLOW_FIRST = ("tests/test_distributed.py", "tests/serve/test_coding_agents.py")


def pytest_collection_modifyitems(items: list) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))  # a stable sort: else as collected
