"""Work that Ctrl-C cannot cut in half.

Ctrl-C raises ``KeyboardInterrupt`` between any two Python operations. In the middle of an
optimizer step that would leave some parameters updated and the rest not, or a step count
one ahead of the weights; in the middle of ``Sequential.load``, a half-loaded network.
Inside ``with uninterrupted():`` Ctrl-C is held back until the block has finished, and is
then delivered as usual: the block runs whole, and the interrupt still stops the program.

It swaps the SIGINT handler for one that only takes note, and puts the old one back at the
end. ``_signal`` is the C module behind ``signal``: the same functions, without the enum
conversions that make ``signal.signal`` ten times slower (this runs at every step).
"""

import _signal
import threading
from signal import SIGINT

__all__ = ["uninterrupted"]


class uninterrupted:  # noqa: N801 - used like a function: ``with uninterrupted():``
    """Run the block to its end, then deliver a Ctrl-C (SIGINT) that arrived during it."""

    def __enter__(self):
        self.previous, self.received = None, False
        # Python runs signal handlers in the main thread only; and a handler installed
        # from outside Python (getsignal gives None) could not be put back.
        main = threading.current_thread() is threading.main_thread()
        if main and _signal.getsignal(SIGINT) is not None:
            self.previous = _signal.signal(SIGINT, self._take_note)
        return self

    def _take_note(self, signum, frame):
        self.received = True

    def __exit__(self, *exc_info):
        if self.previous is not None:
            _signal.signal(SIGINT, self.previous)
            if self.received:
                _signal.raise_signal(SIGINT)  # now, to the handler that was there before
        return False
