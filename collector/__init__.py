"""dora-collector: GitHub merged pull requests -> per-team DORA delivery metrics in PostgreSQL."""

__version__ = "0.1.0"
