"""carecall's Textual app: the caller's shift and the supervisor's dashboard."""
