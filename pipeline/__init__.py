"""Stream workers (faust-streaming): moderation, decisions, records and queue agents; load generator; demo."""
