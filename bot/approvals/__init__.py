"""Approval requests for remediation steps: proposed, approved under policy, executed exactly once, audited."""
