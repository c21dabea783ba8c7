"""Runbooks: the schema, the YAML loader with positions, CEL conditions, references, the catalog and lint."""
