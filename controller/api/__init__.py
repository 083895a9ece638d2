"""The agent API: server.py (the FastAPI app and its routes), schemas.py (OpenAI shapes), jobs.py (the queue)."""
