"""The composition root: the ``wtg`` command line and the wiring of all rooms."""
