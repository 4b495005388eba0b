"""How public state is spelled on the wire: times, Statuspage v2 objects, OKX v5 rows.

Plain functions from model instances (their relations prefetched by `incidents.selectors`)
to JSON-ready values. The snapshot, the event log, the API, the sockets and the
notifications all spell through here, so every channel shows the same words and numbers.
"""
