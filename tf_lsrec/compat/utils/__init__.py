"""Mirror of ``recommenders.utils`` (``timer``, ``constants``) for Microsoft's notebooks."""
