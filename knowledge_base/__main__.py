"""`python -m knowledge_base build|search` (see knowledge_base.cli)."""

from knowledge_base.cli import main

raise SystemExit(main())
