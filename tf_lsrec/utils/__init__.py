"""Small shared helpers (atomic file writes, cache directories)."""
