"""What keeps the user's code and the checker apart inside one worker process.

* The ground truth runs in the state the worker had before it imported the user's module:
  NumPy's floating-point error modes (a module that calls `np.seterr(all='raise')` at
  import would otherwise make the reference itself raise) and the attributes of NumPy and
  cnnref.reference (a module that replaces `np.matmul` or `ref.conv2d` would otherwise
  change the truth it is compared with). `snapshot()` before the import, then every
  ground-truth computation runs inside `pristine()`, which puts the user's state back after.
* `mutated_arguments`: the arrays a call was given, compared with the case's originals
  after the call (an in-place ReLU that destroys its cached input is a classic bug).
* `describe_exception`: any exception as text, even one whose __str__ raises.
* `limit_memory` / `default_max_memory`: the worker's address-space limit (--max-memory),
  so that a runaway allocation is a MemoryError reported as such, not a swapping machine.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys

import numpy as np

# NumPy's namespaces the reference calls through, and the reference's own modules.
_WATCHED_NUMPY = ("numpy", "numpy.fft", "numpy.linalg", "numpy.lib.stride_tricks")
_SNAPSHOT: dict = {}
_ERRSTATE: dict = {}
MEMORY_LIMIT: int | None = None       # bytes, set in the worker by limit_memory


def _watched() -> list:
    return [m for name, m in list(sys.modules.items()) if m is not None
            and (name in _WATCHED_NUMPY or name.startswith("cnnref.reference"))]


def snapshot() -> None:
    """Record NumPy's error modes and the watched modules' attributes (before the import)."""
    _ERRSTATE.clear()
    _ERRSTATE.update(np.geterr())
    _SNAPSHOT.clear()
    for module in _watched():
        _SNAPSHOT[module.__name__] = (module, dict(vars(module)))


_USER_ERRSTATE: dict = {}


def after_import() -> None:
    """Keep the error modes the user's module set at import for its own calls (user_state)
    and give the checker back the ones snapshot() recorded."""
    _USER_ERRSTATE.clear()
    _USER_ERRSTATE.update(np.geterr())
    if _ERRSTATE:
        np.seterr(**_ERRSTATE)


def user_state():
    """The error modes the user's module chose at import, for the duration of its call."""
    return np.errstate(**(_USER_ERRSTATE or np.geterr()))


def _patched() -> list:
    """(module, name, original) of every watched attribute the user changed or deleted."""
    out = []
    for module, original in _SNAPSHOT.values():
        now = vars(module)
        out += [(module, k, v) for k, v in original.items() if now.get(k, _MISSING) is not v]
    return out


_MISSING = object()


@contextlib.contextmanager
def pristine():
    """Run the block in the state snapshot() recorded; the user's state is put back after."""
    patched = _patched()
    saved = [(m, k, vars(m).get(k, _MISSING)) for m, k, _ in patched]
    for module, name, original in patched:
        setattr(module, name, original)
    try:
        with np.errstate(**(_ERRSTATE or np.geterr())):
            yield
    finally:
        for module, name, value in saved:
            if value is _MISSING:
                delattr(module, name)
            else:
                setattr(module, name, value)


def mutated_arguments(passed: dict, originals: dict, allowed=frozenset()) -> list:
    """Names of the arrays in `passed` (the copies handed to the user) that no longer equal
    their originals (values, shape or dtype); `allowed` are updated in place by contract
    (batch norm's running statistics, as torch)."""
    out = []
    for name, given in passed.items():
        before = originals.get(name)
        if name in allowed or not isinstance(before, np.ndarray):
            continue
        if not isinstance(given, np.ndarray) or given.shape != before.shape or \
                given.dtype != before.dtype or not np.array_equal(given, before, equal_nan=True):
            out.append(name)
    return out


def describe_exception(exc: BaseException) -> str:
    """'TypeName: message', whatever the exception's __str__ does."""
    try:
        text = str(exc)
    except BaseException as inner:     # noqa: BLE001 - the user's __str__ may raise anything
        text = f"<unprintable: its __str__ raised {type(inner).__name__}>"
    name = getattr(type(exc), "__name__", "exception")
    if isinstance(exc, MemoryError) and MEMORY_LIMIT:
        text += f" (out of memory: the worker's limit is {MEMORY_LIMIT / 2**30:.1f} GiB, " \
                f"--max-memory)"
    return f"{name}: {text}" if text else name


def default_max_memory() -> int:
    """A quarter of the machine's physical memory, in bytes (4 GiB where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def limit_memory(limit: int | None) -> None:
    """Cap this process's address space at `limit` bytes (None or 0: no cap)."""
    global MEMORY_LIMIT
    if not limit:
        return
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    MEMORY_LIMIT = limit


def death(exitcode: int | None) -> str:
    """How a worker ended: 'killed by signal SIGSEGV (11)', 'exit status 3', ..."""
    if exitcode is None:
        return "still running (no exit status)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "signal"
        hint = " (the kernel's out-of-memory killer, or a kill from outside)" \
            if -exitcode == signal.SIGKILL else ""
        return f"killed by signal {name} ({-exitcode}){hint}"
    return f"exit status {exitcode}"
