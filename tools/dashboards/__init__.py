"""The Grafana dashboards' generator (`python -m tools.dashboards`), kept out of the runtime package.

Why not under `monitor/`: the daemon never draws a board, and a desk's production image should not
carry (or import) the code that writes them; what ties the boards to the daemon is the check that
every panel names a metric `monitor/` exposes, which this package reads from `monitor.figures`.
"""
