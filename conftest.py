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
