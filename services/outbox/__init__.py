"""Effects sent after commit: what the transaction that caused them wrote, sent once, in order."""
