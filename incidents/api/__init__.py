"""The integrators' API: Statuspage v2 and OKX v5 reads, the authenticated v1 writes."""
