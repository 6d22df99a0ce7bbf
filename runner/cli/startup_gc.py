"""The cyclic garbage collector while a command loads: rarely, then as usual.

Starting a drill imports some 400 modules and builds some 50,000 long-lived objects
(functions, classes, schemas, the parsed playbook). None of them is garbage, yet the cyclic
collector walks them again and again while they load: about 50 ms of CPU per run, a
single full pass about 25 ms of it. So the program's entry point collects rarely while a
command loads (`loading`), and the command says when its code is loaded (`loaded`): what
exists then is moved out of every later collection (`gc.freeze`), and the usual thresholds
come back for the objects the work itself creates. Nothing is ever left uncollected for
good but what existed at `loaded`; a command that never says `loaded` keeps collecting,
only in larger batches.
"""

from __future__ import annotations

import gc

# Young objects allocated before a collection while loading (the usual is 700).
LOADING_THRESHOLD = 100_000

_usual: tuple[int, int, int] | None = None


def loading() -> None:
    """Collect rarely from now until `loaded` (the program's entry point calls this)."""
    global _usual
    if _usual is None:
        _usual = gc.get_threshold()
        gc.set_threshold(LOADING_THRESHOLD, _usual[1], _usual[2])


def loaded() -> None:
    """The command's code and input are loaded: exempt them from later collections and
    collect as usual from here. Does nothing unless `loading` was called (so an in-process
    caller, such as a test, keeps its interpreter as it was)."""
    global _usual
    if _usual is not None:
        gc.freeze()
        gc.set_threshold(*_usual)
        _usual = None
