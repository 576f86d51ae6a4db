"""Real-time updates over WebSockets, fanned out across server processes (issue 6)."""
