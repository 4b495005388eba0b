"""The public HTML door: the status, history and incident pages, the feeds and the
subscription pages."""
