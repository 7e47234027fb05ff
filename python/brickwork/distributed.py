"""``from brickwork.distributed import Client``: dask.distributed's ``Client`` for one machine.

``Client(processes=False, threads_per_worker=T, n_workers=W, memory_limit='2GB')`` makes
brickwork's in-process cluster (W workers of T threads, each with its own memory limit and
spill store; tasks go to the worker holding most of their inputs) the default scheduler of
every computation until it is closed (``client.close()``, or the end of a ``with`` block).
``dashboard_link`` is the live dashboard's address, served while the client is open.

``Client(processes=True)`` (dask's default) makes the default worker processes instead
(``scheduler='processes'``, W processes).
"""

from __future__ import annotations

import os

from brickwork import _brickwork, _config


class Client:
    """A local cluster as the default scheduler (dask.distributed's ``Client(LocalCluster)``).

    Parameters
    ----------
    processes : bool
        ``False``: workers are threads of this process (brickwork's cluster scheduler).
        ``True``: worker processes (brickwork's processes scheduler, one task per process).
    threads_per_worker : int, optional
        Threads per worker (default: the cores divided among the workers).
    n_workers : int, optional
        Workers (default 1 for threads, one per core for processes).
    memory_limit : int or str, optional
        The memory limit per worker ('2GB', bytes); default: the machine's divided among
        the workers.
    dashboard_address : str or None
        Where to serve the live dashboard (default ``'127.0.0.1:0'``, any free port;
        ``None`` for none). The address is ``dashboard_link``.
    set_as_default : bool
        Make it the default scheduler while open (default True).
    """

    def __init__(
        self,
        address=None,
        *,
        processes: bool = True,
        threads_per_worker: int | None = None,
        n_workers: int | None = None,
        memory_limit="auto",
        dashboard_address: str | None = "127.0.0.1:0",
        set_as_default: bool = True,
        **kwargs,
    ):
        if address is not None:
            raise ValueError("brickwork's Client runs on this machine: it takes no address")
        cores = os.cpu_count() or 1
        self.processes = processes
        if processes:
            self.n_workers = n_workers or cores
            self.threads_per_worker = 1
            scheduler = "processes"
        else:
            self.n_workers = n_workers or 1
            self.threads_per_worker = threads_per_worker or max(1, cores // self.n_workers)
            scheduler = "cluster"
        self._memory_limit = _config.memory_bytes(memory_limit)
        self._scheduler = scheduler
        self._dashboard = dashboard_address
        self._options = _brickwork.Options(
            scheduler=scheduler,
            num_workers=self.n_workers,
            threads_per_worker=self.threads_per_worker,
            memory_limit=self._memory_limit,
            dashboard=dashboard_address,
        )
        self.dashboard_link = self._options.open_dashboard("brickwork Client")
        self.status = "running"
        self._default = set_as_default
        if set_as_default:
            _config._clients.append(self)

    @property
    def memory_limit(self) -> int:
        """The memory limit per worker, in bytes."""
        return self._options.memory_limit

    def _with(self, num_workers=None, memory_limit=None, max_requests=None) -> _brickwork.Options:
        return _brickwork.Options(
            scheduler=self._scheduler,
            num_workers=num_workers or self.n_workers,
            threads_per_worker=self.threads_per_worker,
            memory_limit=_config.memory_bytes(memory_limit) or self._memory_limit,
            max_requests=max_requests,
        )

    def compute(self, *arrays, sync: bool = True):
        """Computes the arrays on this client's workers (in one pass)."""
        from brickwork.array.core import compute

        results = compute(*arrays, scheduler=self)
        return results[0] if len(arrays) == 1 else list(results)

    def close(self) -> None:
        """Stops being the default scheduler and stops the dashboard."""
        if self.status == "closed":
            return
        self.status = "closed"
        if self in _config._clients:
            _config._clients.remove(self)
        self._options.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        kind = "processes" if self.processes else "threads"
        return (
            f"<Client: workers={self.n_workers}, threads_per_worker={self.threads_per_worker}, "
            f"{kind}, memory_limit={self.memory_limit}, dashboard={self.dashboard_link}, "
            f"status={self.status}>"
        )


__all__ = ["Client"]
