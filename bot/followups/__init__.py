"""Follow-ups: an incident's action items, kept in Redis and exported to an issue tracker."""
