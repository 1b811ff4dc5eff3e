"""Design-space exploration: a sweep spec, its points evaluated by the one ``evaluate``
(``epur.evaluation``), a resumable results store, executors (a local process pool or a
Dask cluster), Pareto fronts, plots and an HTML report (``epur sweep``)."""
