"""``python -m pxr`` runs the ``pxr`` command."""

from pxr.cli import main

raise SystemExit(main())
