"""Who may approve what, where: approvers, four-eyes, environments, kill switch, rate limits, trust levels."""
