"""How computations run: the scheduler keywords of ``compute`` and the active ``Client``.

``compute(scheduler=..., num_workers=..., memory_limit=...)`` takes dask's keywords; without
a scheduler, the innermost active :class:`brickwork.distributed.Client` decides, else the
threads scheduler on every core under the default memory limit (half of the memory
available).
"""

from __future__ import annotations


from brickwork import _brickwork

_clients: list = []  # active Clients, innermost last (process-wide, like dask's default client)


def memory_bytes(limit) -> int | None:
    """``memory_limit=`` as bytes: an int, a size text ('2GB', '512MiB'), or None/'auto'."""
    if limit is None or limit == "auto":
        return None
    if isinstance(limit, str):
        return _brickwork.parse_bytes(limit)
    if isinstance(limit, float) and limit.is_integer() or isinstance(limit, int):
        if limit < 0:
            raise ValueError(f"memory_limit must be positive, got {limit}")
        return int(limit)
    raise TypeError(f"memory_limit must be bytes (int) or a size text like '2GB', got {limit!r}")


def options(
    scheduler=None, num_workers=None, memory_limit=None, max_requests=None, **kwargs
) -> _brickwork.Options:
    """The options of one computation, from ``compute``'s keywords (``max_requests``: the
    requests to object stores kept in flight at most, default 64)."""
    unknown = set(kwargs) - {"optimize_graph", "traverse", "pool"}
    if unknown:
        raise TypeError(f"compute() got unexpected keyword arguments {sorted(unknown)}")
    from brickwork.distributed import Client

    if isinstance(scheduler, Client):
        return scheduler._options
    if scheduler is None:
        if _clients:
            if num_workers is None and memory_limit is None and max_requests is None:
                return _clients[-1]._options
            return _clients[-1]._with(
                num_workers=num_workers, memory_limit=memory_limit, max_requests=max_requests
            )
        scheduler = "threads"
    return _brickwork.Options(
        scheduler=scheduler,
        num_workers=num_workers,
        memory_limit=memory_bytes(memory_limit),
        max_requests=max_requests,
    )
