"""Diagnostic and action hooks: one module per outside system, all listed in one registry."""
