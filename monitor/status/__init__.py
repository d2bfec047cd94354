"""The status page: the book at a glance from the daemon's latest tick (issue 15).

model.py holds the record, build.py makes it from Figures and alerts (pure), columns.py/fmt.py say
how a person reads each number, html.py and text.py render it, routes.py serves it beside
/metrics, client.py is `perpmon status`, recent.py keeps the last alert transitions.
"""
