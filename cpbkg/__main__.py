"""``python -m cpbkg`` runs the command line."""

from cpbkg.cli import main

raise SystemExit(main())
